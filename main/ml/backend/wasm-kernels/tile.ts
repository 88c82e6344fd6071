// Tile for the WASM backend. The stock kernel computes every output index with a division chain
// (about 30× slower than a copy); the batch-norm gradient tiles a [1,1,1,C] scale over the whole
// feature map once per layer, which made Tile the largest kernel of a training step. Here each
// block is copied once and then repeated with copyWithin (a memmove).
import { Tile, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core'
import { allocate, runKernel, sizeOf, type BackendWasm } from './heap'

type Typed = Float32Array | Int32Array | Uint8Array

function view(backend: BackendWasm, info: TensorInfo): Typed {
  const { memoryOffset } = backend.dataIdMap.get(info.dataId)!
  const buffer = (backend.wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8.buffer as ArrayBuffer
  const size = sizeOf(info.shape)
  if (info.dtype === 'int32') return new Int32Array(buffer, memoryOffset, size)
  if (info.dtype === 'bool') return new Uint8Array(buffer, memoryOffset, size)
  return new Float32Array(buffer, memoryOffset, size)
}

export function tileInto(src: Typed, srcShape: number[], reps: number[], dst: Typed): void {
  const rank = srcShape.length
  const outShape = srcShape.map((dim, i) => dim * reps[i]!)
  const srcStrides = strides(srcShape)
  const dstStrides = strides(outShape)
  const fill = (axis: number, srcOffset: number, dstOffset: number): void => {
    const dim = srcShape[axis]!
    if (axis === rank - 1) {
      for (let i = 0; i < dim; i++) dst[dstOffset + i] = src[srcOffset + i]!
    } else {
      for (let i = 0; i < dim; i++)
        fill(axis + 1, srcOffset + i * srcStrides[axis]!, dstOffset + i * dstStrides[axis]!)
    }
    // Repeat the finished block along this axis, doubling the copied span each time.
    const block = axis === rank - 1 ? dim : dim * dstStrides[axis]!
    const total = block * reps[axis]!
    for (let done = block; done < total; done += Math.min(done, total - done)) {
      dst.copyWithin(dstOffset + done, dstOffset, dstOffset + Math.min(done, total - done))
    }
  }
  if (rank === 0) dst[0] = src[0]!
  else if (sizeOf(outShape) > 0) fill(0, 0, 0)
}

function strides(shape: number[]): number[] {
  const out = new Array<number>(shape.length)
  let stride = 1
  for (let i = shape.length - 1; i >= 0; i--) {
    out[i] = stride
    stride *= shape[i]!
  }
  return out
}

function tile({ inputs, backend, attrs }: Parameters<KernelFunc>[0]): TensorInfo {
  const wasm = backend as BackendWasm
  const x = inputs.x!
  const reps = (attrs as { reps: number[] }).reps
  if (x.dtype === 'string' || x.dtype === 'complex64') return runKernel(wasm, 'Tile', { x }, { reps })
  const out = allocate(
    wasm,
    x.shape.map((dim, i) => dim * reps[i]!),
    x.dtype
  )
  tileInto(view(wasm, x), x.shape, reps, view(wasm, out))
  return out
}

export const tileConfig: KernelConfig = { kernelName: Tile, backendName: 'wasm', kernelFunc: tile }
