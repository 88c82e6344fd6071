// UnsortedSegmentSum for the WASM backend (missing there): the gradient of tf.gather, which
// detectors use to pick matched anchors. out[id] += x[i] for every leading index i with
// segmentIds[i] = id; ids outside [0, numSegments) are dropped, as on the CPU backend.
import {
  UnsortedSegmentSum,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo
} from '@tensorflow/tfjs-core'
import { allocate, f32, i32, sizeOf, type BackendWasm } from './heap'

function unsortedSegmentSum({ inputs, backend, attrs }: Parameters<KernelFunc>[0]): TensorInfo {
  const wasm = backend as BackendWasm
  const x = inputs.x!
  const segmentIds = inputs.segmentIds!
  const numSegments = (attrs as { numSegments: number }).numSegments
  if (x.dtype !== 'float32' && x.dtype !== 'int32')
    throw new Error(`UnsortedSegmentSum: unsupported dtype ${x.dtype}`)
  const inner = sizeOf(x.shape.slice(segmentIds.shape.length))
  const out = allocate(wasm, [numSegments, ...x.shape.slice(segmentIds.shape.length)], x.dtype)
  const values = x.dtype === 'float32' ? f32(wasm, x) : i32(wasm, x)
  const sums = x.dtype === 'float32' ? f32(wasm, out) : i32(wasm, out)
  const ids = segmentIds.dtype === 'int32' ? i32(wasm, segmentIds) : f32(wasm, segmentIds)
  sums.fill(0)
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!
    if (id < 0 || id >= numSegments) continue
    const src = i * inner
    const dst = id * inner
    for (let k = 0; k < inner; k++) sums[dst + k]! += values[src + k]!
  }
  return out
}

export const unsortedSegmentSumConfig: KernelConfig = {
  kernelName: UnsortedSegmentSum,
  backendName: 'wasm',
  kernelFunc: unsortedSegmentSum
}
