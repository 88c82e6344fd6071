// ResizeNearestNeighborGrad for the pure-JS CPU backend. The stock kernel reads dy at the input
// image's batch offset (right only for batch 0) and ignores halfPixelCenters, so FPN-style
// nearest upsampling trained on the CPU rung got wrong gradients for every image after the first.
// (The stock WASM kernel ignores halfPixelCenters too; wasm-kernels/ reuses scatterNearest.)
// Each dy pixel is added to the input pixel the forward pass copied it from.
import {
  ResizeNearestNeighborGrad,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo
} from '@tensorflow/tfjs-core'

interface CpuBackend {
  data: { get(dataId: object): { values: ArrayLike<number> } }
  makeTensorInfo(shape: number[], dtype: string, values: Float32Array): TensorInfo
}

/** The input index the forward kernel reads for output index `out` (same arithmetic). */
export function nearestSource(
  out: number,
  inSize: number,
  outSize: number,
  alignCorners: boolean,
  halfPixelCenters: boolean
): number {
  const effectiveIn = alignCorners && outSize > 1 ? inSize - 1 : inSize
  const effectiveOut = alignCorners && outSize > 1 ? outSize - 1 : outSize
  const ratio = effectiveIn / effectiveOut
  const fraction = halfPixelCenters ? ratio * (out + 0.5) : ratio * out
  const nearest = Math.min(inSize - 1, alignCorners ? Math.round(fraction) : Math.floor(fraction))
  return halfPixelCenters ? Math.max(0, nearest) : nearest
}

function resizeNearestNeighborGrad({ inputs, backend, attrs }: Parameters<KernelFunc>[0]): TensorInfo {
  const cpu = backend as unknown as CpuBackend
  const { images, dy } = inputs as { images: TensorInfo; dy: TensorInfo }
  const { alignCorners, halfPixelCenters } = attrs as { alignCorners: boolean; halfPixelCenters?: boolean }
  const [B, H, W, C] = images.shape as [number, number, number, number]
  const [, OH, OW] = dy.shape as [number, number, number, number]
  const dx = new Float32Array(B * H * W * C)
  scatterNearest(
    cpu.data.get(dy.dataId).values,
    dx,
    [B, H, W, C],
    [OH, OW],
    alignCorners,
    Boolean(halfPixelCenters)
  )
  return cpu.makeTensorInfo(images.shape, 'float32', dx)
}

/** dx (zeroed by the caller) += dy scattered back to the pixels the forward resize read. */
export function scatterNearest(
  dy: ArrayLike<number>,
  dx: Float32Array,
  [B, H, W, C]: [number, number, number, number],
  [OH, OW]: [number, number],
  alignCorners: boolean,
  halfPixelCenters: boolean
): void {
  const rows = Array.from({ length: OH }, (_, r) => nearestSource(r, H, OH, alignCorners, halfPixelCenters))
  const cols = Array.from({ length: OW }, (_, c) => nearestSource(c, W, OW, alignCorners, halfPixelCenters))
  let src = 0
  for (let b = 0; b < B; b++) {
    for (let r = 0; r < OH; r++) {
      for (let c = 0; c < OW; c++) {
        const dst = ((b * H + rows[r]!) * W + cols[c]!) * C
        for (let d = 0; d < C; d++) dx[dst + d]! += dy[src++]!
      }
    }
  }
}

export const resizeNearestNeighborGradCpuConfig: KernelConfig = {
  kernelName: ResizeNearestNeighborGrad,
  backendName: 'cpu',
  kernelFunc: resizeNearestNeighborGrad
}
