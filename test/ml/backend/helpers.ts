// Runs the same tfjs computation on the CPU backend (the reference) and on WASM with our kernels.
import * as tf from '@tensorflow/tfjs-core'
import { expect } from 'vitest'
import { initBackend } from '../../../main/ml/backend/ladder'

let ready: Promise<void> | null = null

/** Initialises both backends once per test file (WASM through the ladder, so our kernels are in). */
export function bothBackends(): Promise<void> {
  ready ??= (async () => {
    await initBackend('cpu')
    await initBackend('wasm')
  })()
  return ready
}

/** Values of the tensors `compute` returns, computed on `backend` and copied out. */
export async function valuesOn(
  backend: 'cpu' | 'wasm',
  compute: () => tf.Tensor | tf.Tensor[]
): Promise<Float32Array[]> {
  await tf.setBackend(backend)
  return tf.tidy(() => {
    const result = compute()
    return (Array.isArray(result) ? result : [result]).map((t) => Float32Array.from(t.dataSync()))
  })
}

export async function cpuAndWasm(
  compute: () => tf.Tensor | tf.Tensor[]
): Promise<{ cpu: Float32Array[]; wasm: Float32Array[] }> {
  const cpu = await valuesOn('cpu', compute)
  const wasm = await valuesOn('wasm', compute)
  return { cpu, wasm }
}

/** Largest |actual − expected| relative to the largest |expected| (0 when both are all zero). */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length)
  let scale = 0
  let worst = 0
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]!))
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!))
  if (!Number.isFinite(worst)) return Infinity
  return scale === 0 ? worst : worst / scale
}

/** Deterministic uniform values in [-1, 1). */
export function randomValues(size: number, seed: number): Float32Array {
  const values = new Float32Array(size)
  let state = seed >>> 0 || 1
  for (let i = 0; i < size; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    values[i] = state / 2 ** 31 - 1
  }
  return values
}

export function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1)
}
