// NCHW tensors are turned into NHWC once at a kernel's boundary; everything inside is NHWC.
import type { TensorInfo } from '@tensorflow/tfjs-core'
import { release, runKernel, type BackendWasm } from './heap'

export interface Borrowed {
  info: TensorInfo
  dispose(): void
}

export function toNhwc(backend: BackendWasm, info: TensorInfo, dataFormat: string | undefined): Borrowed {
  if (dataFormat !== 'NCHW') return { info, dispose: () => {} }
  const nhwc = runKernel(backend, 'Transpose', { x: info }, { perm: [0, 2, 3, 1] })
  return { info: nhwc, dispose: () => release(backend, nhwc) }
}

/** Takes ownership of an NHWC result and returns it in `dataFormat`. */
export function fromNhwc(backend: BackendWasm, info: TensorInfo, dataFormat: string | undefined): TensorInfo {
  if (dataFormat !== 'NCHW') return info
  const nchw = runKernel(backend, 'Transpose', { x: info }, { perm: [0, 3, 1, 2] })
  release(backend, info)
  return nchw
}

/** Shape [N,C,H,W] → [N,H,W,C] (shapes only). */
export function nhwcShape(shape: number[], dataFormat: string | undefined): [number, number, number, number] {
  const [n, a, b, c] = shape as [number, number, number, number]
  return dataFormat === 'NCHW' ? [n, b, c, a] : [n, a, b, c]
}
