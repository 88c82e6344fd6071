// BatchMatMul for the WASM backend when an operand is transposed. The stock kernel hands XNNPACK's
// GEMM only untransposed operands and otherwise runs a slow path: measured here 4-12x slower than
// transposing first (Transpose is a fast copy), e.g. [8192,80]^T x [8192,480] 293 ms against 35 ms.
// Every matMul gradient has a transposed operand (dA = dY B^T, dB = A^T dY), and a detector's 1x1
// convs are matMuls, so this was the largest kernel of a training step (43% of it).
import { BatchMatMul, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core'
import { release, runKernel, type BackendWasm } from './heap'

/** The permutation that swaps the last two axes. */
function swapLastTwo(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i)
  perm[rank - 2] = rank - 1
  perm[rank - 1] = rank - 2
  return perm
}

function batchMatMul({ inputs, backend, attrs }: Parameters<KernelFunc>[0]): TensorInfo {
  const wasm = backend as BackendWasm
  const { a, b } = inputs as { a: TensorInfo; b: TensorInfo }
  const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean }
  if (!transposeA && !transposeB) return runKernel(wasm, 'BatchMatMul', { a, b }, attrs)
  const at = transposeA ? runKernel(wasm, 'Transpose', { x: a }, { perm: swapLastTwo(a.shape.length) }) : a
  const bt = transposeB ? runKernel(wasm, 'Transpose', { x: b }, { perm: swapLastTwo(b.shape.length) }) : b
  try {
    return runKernel(
      wasm,
      'BatchMatMul',
      { a: at, b: bt },
      { ...attrs, transposeA: false, transposeB: false }
    )
  } finally {
    if (transposeA) release(wasm, at)
    if (transposeB) release(wasm, bt)
  }
}

export const batchMatMulConfig: KernelConfig = {
  kernelName: BatchMatMul,
  backendName: 'wasm',
  kernelFunc: batchMatMul
}
