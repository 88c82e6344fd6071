// Weights as plain data (name -> shape + Float32Array): for checkpoints, for moving weights or
// gradients between worker processes, and for tests that compare before/after.
import * as tf from '@tensorflow/tfjs-core'
import type { Module, NamedVariable, ParamKind } from './module'

export interface WeightTensor {
  shape: number[]
  values: Float32Array
}

export type NamedWeights = Map<string, WeightTensor>

export function readWeights(variables: NamedVariable[]): NamedWeights {
  const out: NamedWeights = new Map()
  for (const { name, variable } of variables) {
    out.set(name, {
      shape: [...variable.shape],
      values: Float32Array.from(variable.dataSync() as Float32Array)
    })
  }
  return out
}

export function getModuleWeights(module: Module, kind?: ParamKind): NamedWeights {
  return readWeights(module.namedVariables().filter((v) => !kind || v.kind === kind))
}

/**
 * Assigns weights by name. With `partial` false every variable of the module must be given;
 * unknown names and shape mismatches always fail, listing the first few offenders.
 */
export function setModuleWeights(
  module: Module,
  weights: NamedWeights,
  options: { partial?: boolean } = {}
): void {
  const variables = new Map(module.namedVariables().map((v) => [v.name, v.variable]))
  const problems: string[] = []
  for (const [name, weight] of weights) {
    const variable = variables.get(name)
    if (!variable) problems.push(`${name}: not a weight of this model`)
    else if (!sameShape(variable.shape, weight.shape))
      problems.push(`${name}: shape [${weight.shape}] but the model has [${variable.shape}]`)
    else if (weight.values.length !== variable.size)
      problems.push(`${name}: ${weight.values.length} values for shape [${weight.shape}]`)
  }
  if (!options.partial)
    for (const name of variables.keys()) if (!weights.has(name)) problems.push(`${name}: missing`)
  if (problems.length) {
    const more = problems.length > 5 ? ` (and ${problems.length - 5} more)` : ''
    throw new Error(`weights do not fit the model: ${problems.slice(0, 5).join('; ')}${more}`)
  }
  for (const [name, weight] of weights) {
    const variable = variables.get(name)!
    variable.assign(tf.tensor(weight.values, variable.shape, 'float32'))
  }
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i])
}

export interface WeightEntry {
  name: string
  shape: number[]
  /** Offset in bytes into the weights file. */
  offset: number
}

/** Packs weights into one little-endian float32 buffer with an index of names, shapes and offsets. */
export function packWeights(weights: NamedWeights): { entries: WeightEntry[]; data: Uint8Array } {
  const total = [...weights.values()].reduce((n, w) => n + w.values.length, 0)
  const floats = new Float32Array(total)
  const entries: WeightEntry[] = []
  let at = 0
  for (const [name, weight] of weights) {
    entries.push({ name, shape: weight.shape, offset: at * 4 })
    floats.set(weight.values, at)
    at += weight.values.length
  }
  return { entries, data: new Uint8Array(floats.buffer) }
}

/** Inverse of packWeights; throws when an entry points outside the buffer. */
export function unpackWeights(entries: WeightEntry[], data: Uint8Array): NamedWeights {
  const out: NamedWeights = new Map()
  for (const entry of entries) {
    const length = entry.shape.reduce((a, b) => a * b, 1)
    const end = entry.offset + length * 4
    if (entry.offset < 0 || entry.offset % 4 !== 0 || end > data.byteLength) {
      throw new Error(
        `weight ${entry.name} lies outside the weights file (bytes ${entry.offset}-${end} of ${data.byteLength})`
      )
    }
    // copy: the Buffer's byteOffset need not be 4-aligned
    const values = new Float32Array(data.buffer.slice(data.byteOffset + entry.offset, data.byteOffset + end))
    out.set(entry.name, { shape: entry.shape, values })
  }
  return out
}
