// ResizeNearestNeighborGrad for the WASM backend: the stock kernel ignores halfPixelCenters, so
// its gradient goes to the wrong pixels whenever the forward resize used half-pixel centres.
import {
  ResizeNearestNeighborGrad,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo
} from '@tensorflow/tfjs-core'
import { scatterNearest } from '../cpu-kernels/resize-nearest-grad'
import { allocate, f32, type BackendWasm } from './heap'

function resizeNearestNeighborGrad({ inputs, backend, attrs }: Parameters<KernelFunc>[0]): TensorInfo {
  const wasm = backend as BackendWasm
  const { images, dy } = inputs as { images: TensorInfo; dy: TensorInfo }
  const { alignCorners, halfPixelCenters } = attrs as { alignCorners: boolean; halfPixelCenters?: boolean }
  const dx = allocate(wasm, images.shape)
  const out = f32(wasm, dx)
  out.fill(0)
  const dyShape = dy.shape as [number, number, number, number]
  scatterNearest(
    f32(wasm, dy),
    out,
    images.shape as [number, number, number, number],
    [dyShape[1], dyShape[2]],
    alignCorners,
    Boolean(halfPixelCenters)
  )
  return dx
}

export const resizeNearestNeighborGradConfig: KernelConfig = {
  kernelName: ResizeNearestNeighborGrad,
  backendName: 'wasm',
  kernelFunc: resizeNearestNeighborGrad
}
