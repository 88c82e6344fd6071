// Seeded weight initialisation, so a run's config (seed included) rebuilds the same starting model
// on any backend. Builders draw from the "current" generator set by withInitSeed().

import { mulberry32 } from '../../core/export/split'

export type Rng = () => number

let current: Rng = mulberry32(0)

/** Runs `build` with the initialiser seeded, so every module built inside draws from one stream. */
export function withInitSeed<T>(seed: number, build: () => T): T {
  const saved = current
  current = mulberry32(seed)
  try {
    return build()
  } finally {
    current = saved
  }
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1)
}

/** Normal(0, std) truncated at 2 std (as Keras/TF truncated_normal), via Box-Muller. */
export function truncatedNormal(shape: readonly number[], std: number): Float32Array {
  const out = new Float32Array(sizeOf(shape))
  for (let i = 0; i < out.length; i++) {
    let z: number
    do {
      const u = 1 - current()
      z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * current())
    } while (Math.abs(z) > 2)
    out[i] = z * std
  }
  return out
}

export function uniform(shape: readonly number[], limit: number): Float32Array {
  const out = new Float32Array(sizeOf(shape))
  for (let i = 0; i < out.length; i++) out[i] = (current() * 2 - 1) * limit
  return out
}

export function constant(shape: readonly number[], value: number): Float32Array {
  return new Float32Array(sizeOf(shape)).fill(value)
}

/**
 * He (variance-scaling 2.0) init for a conv kernel [kh, kw, in, out] over fan-out, as EfficientNet
 * does; the truncation factor keeps the variance right after cutting the tails.
 */
export function heConvKernel(shape: readonly [number, number, number, number]): Float32Array {
  const [kh, kw, , cout] = shape
  const fanOut = kh * kw * cout // a depthwise kernel [k, k, C, 1] has fan-out k*k
  return truncatedNormal(shape, Math.sqrt(2 / fanOut) / 0.87962566103423978)
}
