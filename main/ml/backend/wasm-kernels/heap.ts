// Plumbing shared by the composed WASM kernels: run another WASM kernel directly (no engine, no
// tape), read/write tensors in place on the WASM heap, and free intermediates promptly.
import { getKernel, type DataType, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core'
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm'

export type { BackendWasm }

/**
 * Kernels of the stock WASM backend, captured before we replace any of them, so a composed
 * kernel always calls the XNNPACK implementation and never itself.
 */
const stockKernels = new Map<string, NonNullable<ReturnType<typeof getKernel>>>()

export function captureStockKernel(kernelName: string): void {
  if (stockKernels.has(kernelName)) return
  const config = getKernel(kernelName, 'wasm')
  if (config) stockKernels.set(kernelName, config)
}

/** Runs a WASM kernel on tensors that live on `backend`; the caller owns the result. */
export function runKernel(
  backend: BackendWasm,
  kernelName: string,
  inputs: Record<string, TensorInfo>,
  attrs: NamedAttrMap = {}
): TensorInfo {
  const config = stockKernels.get(kernelName) ?? getKernel(kernelName, 'wasm')
  if (!config) throw new Error(`WASM backend has no '${kernelName}' kernel`)
  return config.kernelFunc({ inputs, attrs, backend }) as TensorInfo
}

/** Frees intermediates created by a composed kernel (their refCount is 1). */
export function release(backend: BackendWasm, ...infos: Array<TensorInfo | null | undefined>): void {
  for (const info of infos) if (info) backend.disposeData(info.dataId)
}

/** A new uninitialised float32 tensor on the WASM heap. */
export function allocate(backend: BackendWasm, shape: number[], dtype: DataType = 'float32'): TensorInfo {
  return backend.makeOutput(shape, dtype)
}

/**
 * A Float32Array view of a tensor's heap memory. Views are invalidated when the heap grows, so
 * take them after the last allocation of a step and never keep them across kernel calls.
 */
export function f32(backend: BackendWasm, info: TensorInfo): Float32Array {
  const { memoryOffset } = backend.dataIdMap.get(info.dataId)!
  return new Float32Array(heap(backend), memoryOffset, sizeOf(info.shape))
}

export function i32(backend: BackendWasm, info: TensorInfo): Int32Array {
  const { memoryOffset } = backend.dataIdMap.get(info.dataId)!
  return new Int32Array(heap(backend), memoryOffset, sizeOf(info.shape))
}

/** The Emscripten module's current heap (its typings are not installed). */
function heap(backend: BackendWasm): ArrayBuffer {
  return (backend.wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8.buffer as ArrayBuffer
}

/** Same memory, new shape (a reshape without the Reshape kernel's refCount bookkeeping). */
export function reshapeInfo(info: TensorInfo, shape: number[]): TensorInfo {
  return { dataId: info.dataId, shape, dtype: info.dtype }
}

/**
 * A tensor that aliases `count` elements of `base` starting at element `offset`, registered with
 * the WASM runtime so XNNPACK kernels can take it as an input without a copy. Free it with
 * `releaseAlias` (never `release`: the memory belongs to `base`).
 */
export function alias(backend: BackendWasm, base: TensorInfo, offset: number, shape: number[]): TensorInfo {
  const { memoryOffset } = backend.dataIdMap.get(base.dataId)!
  return backend.makeOutput(shape, base.dtype, memoryOffset + offset * 4)
}

export function releaseAlias(backend: BackendWasm, view: TensorInfo): void {
  const data = backend.dataIdMap.get(view.dataId)
  if (!data) return
  // Drops XNNPACK operators cached on this id, then forgets it without freeing the base's memory.
  ;(backend.wasm as unknown as { tfjs: { disposeData(id: number): void } }).tfjs.disposeData(data.id)
  backend.dataIdMap.delete(view.dataId)
}

export function sizeOf(shape: readonly number[]): number {
  let size = 1
  for (const dim of shape) size *= dim
  return size
}
