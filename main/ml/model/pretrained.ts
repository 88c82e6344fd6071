// Imports pretrained weights from a local TF.js Layers model (model.json + binary shards), matching
// Keras layer names to modules' `sourceName`s (or an explicit mapping). A 3-channel first conv is
// summed over its input channels for greyscale input.
import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import * as tf from '@tensorflow/tfjs-core'
import { FileReadError, UserError, errorMessage } from '../../core/errors'
import type { Module } from './module'
import { sameShape, type WeightTensor } from './weights'

interface ManifestWeight {
  name: string
  shape: number[]
  dtype: string
  quantization?: { dtype: 'uint8' | 'uint16' | 'float16'; scale?: number; min?: number }
}

interface ManifestGroup {
  paths: string[]
  weights: ManifestWeight[]
}

/** Reads every float weight of a TF.js Layers model, keyed by its manifest name (e.g. `stem_conv/kernel`). */
export async function readLayersModelWeights(modelJsonPath: string): Promise<Map<string, WeightTensor>> {
  let manifest: { weightsManifest?: ManifestGroup[] }
  try {
    manifest = JSON.parse(await readFile(modelJsonPath, 'utf8'))
  } catch (err) {
    const reason =
      (err as NodeJS.ErrnoException).code === 'ENOENT'
        ? 'file not found'
        : `not a readable model.json (${errorMessage(err)})`
    throw new FileReadError(modelJsonPath, reason)
  }
  if (!Array.isArray(manifest.weightsManifest)) {
    throw new FileReadError(modelJsonPath, 'no weightsManifest: not a TF.js Layers model.json')
  }
  const weights = new Map<string, WeightTensor>()
  for (const group of manifest.weightsManifest) {
    const shards: Buffer[] = []
    for (const shard of group.paths) {
      const shardPath = join(dirname(modelJsonPath), shard)
      try {
        shards.push(await readFile(shardPath))
      } catch {
        throw new FileReadError(shardPath, 'weights shard listed in model.json cannot be read')
      }
    }
    const data = Buffer.concat(shards)
    let offset = 0
    for (const entry of group.weights) {
      const count = entry.shape.reduce((a, b) => a * b, 1)
      const bytes = count * bytesPerValue(entry)
      if (offset + bytes > data.length) {
        throw new FileReadError(
          modelJsonPath,
          `weights shards end before ${entry.name} (need ${offset + bytes} bytes, have ${data.length})`
        )
      }
      if (entry.dtype === 'float32') {
        weights.set(entry.name.replace(/:0$/, ''), {
          shape: entry.shape,
          values: decodeValues(entry, data.subarray(offset, offset + bytes))
        })
      }
      offset += bytes
    }
  }
  return weights
}

function bytesPerValue(entry: ManifestWeight): number {
  if (entry.quantization) return entry.quantization.dtype === 'uint8' ? 1 : 2
  return entry.dtype === 'bool' ? 1 : 4
}

function decodeValues(entry: ManifestWeight, bytes: Buffer): Float32Array {
  const copy = new Uint8Array(bytes) // aligned copy
  const q = entry.quantization
  if (!q) return new Float32Array(copy.buffer)
  if (q.dtype === 'float16') return Float32Array.from(new Uint16Array(copy.buffer), halfToFloat)
  const raw = q.dtype === 'uint8' ? copy : new Uint16Array(copy.buffer)
  return Float32Array.from(raw, (v) => v * (q.scale ?? 1) + (q.min ?? 0))
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1
  const exponent = (h >> 10) & 0x1f
  const fraction = h & 0x3ff
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024)
  if (exponent === 31) return fraction ? NaN : sign * Infinity
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024)
}

export interface ImportOptions {
  /** Source layer name -> module path (e.g. `{ conv1: 'backbone/stem/conv' }`), for models whose names differ. */
  mapping?: Record<string, string>
}

export interface ImportReport {
  source: string
  /** Source layers whose weights were loaded, with the module each went to. */
  matched: Array<{ sourceLayer: string; module: string }>
  /** Source layers with weights that no module claims (e.g. Keras' classifier or Normalization). */
  unmatchedSourceLayers: string[]
  /** Modules expecting pretrained weights that the source lacks (they keep their random init). */
  missingModules: string[]
  shapeMismatches: Array<{ weight: string; sourceShape: number[]; modelShape: number[] }>
  /** Weights whose RGB input channels were summed into the single greyscale channel. */
  greyscaleAdapted: string[]
  importedValues: number
}

/** Loads matching weights into `root`'s modules; never fails on a partial match, it reports it. */
export async function importLayersModel(
  root: Module,
  modelJsonPath: string,
  options: ImportOptions = {}
): Promise<ImportReport> {
  const source = await readLayersModelWeights(modelJsonPath)
  const bySourceName = new Map<string, [string, Module]>()
  const byPath = new Map<string, Module>()
  for (const [path, module] of root.modules()) {
    byPath.set(path, module)
    if (module.sourceName) bySourceName.set(module.sourceName, [path, module])
  }
  for (const [layer, path] of Object.entries(options.mapping ?? {})) {
    if (!byPath.has(path))
      throw new UserError(`pretrained mapping ${layer} -> ${path}: the model has no module ${path}`)
  }
  const layers = new Map<string, Array<[weightName: string, WeightTensor]>>()
  for (const [name, weight] of source) {
    const parts = name.split('/')
    const layer = parts.length >= 2 ? parts[parts.length - 2] : name
    layers.set(layer, [...(layers.get(layer) ?? []), [parts[parts.length - 1], weight]])
  }

  const report: ImportReport = {
    source: modelJsonPath,
    matched: [],
    unmatchedSourceLayers: [],
    missingModules: [],
    shapeMismatches: [],
    greyscaleAdapted: [],
    importedValues: 0
  }
  const filled = new Set<Module>()
  for (const [layer, layerWeights] of layers) {
    const mappedPath = options.mapping?.[layer]
    const target: [string, Module] | undefined =
      mappedPath !== undefined ? [mappedPath, byPath.get(mappedPath)!] : bySourceName.get(layer)
    if (!target) {
      report.unmatchedSourceLayers.push(layer)
      continue
    }
    const [path, module] = target
    const variables = new Map(module.ownVariables().map((v) => [v.name, v.variable]))
    let loaded = false
    for (const [weightName, weight] of layerWeights) {
      const variable = variables.get(weightName)
      if (!variable) continue
      let values = weight.values
      if (!sameShape(weight.shape, variable.shape)) {
        if (!isRgbToGrey(weight.shape, variable.shape)) {
          report.shapeMismatches.push({
            weight: `${path}/${weightName}`,
            sourceShape: weight.shape,
            modelShape: [...variable.shape]
          })
          continue
        }
        values = sumInputChannels(weight)
        report.greyscaleAdapted.push(`${path}/${weightName}`)
      }
      variable.assign(tf.tensor(values, variable.shape, 'float32'))
      report.importedValues += values.length
      loaded = true
    }
    if (loaded) {
      report.matched.push({ sourceLayer: layer, module: path })
      filled.add(module)
    } else report.unmatchedSourceLayers.push(layer)
  }
  for (const [sourceName, [path, module]] of bySourceName)
    if (!filled.has(module)) report.missingModules.push(`${path} (${sourceName})`)
  return report
}

/** A conv kernel [k, k, 3, out] feeding a [k, k, 1, out] greyscale stem. */
function isRgbToGrey(source: number[], target: readonly number[]): boolean {
  return (
    source.length === 4 &&
    target.length === 4 &&
    source[2] === 3 &&
    target[2] === 1 &&
    sameShape([source[0], source[1], source[3]], [target[0], target[1], target[3]])
  )
}

/** A grey pixel g is the RGB pixel (g, g, g), so the equivalent kernel is the sum over input channels. */
function sumInputChannels(weight: WeightTensor): Float32Array {
  const [kh, kw, cin, cout] = weight.shape
  const out = new Float32Array(kh * kw * cout)
  for (let p = 0; p < kh * kw; p++) {
    for (let c = 0; c < cin; c++)
      for (let o = 0; o < cout; o++) out[p * cout + o] += weight.values[(p * cin + c) * cout + o]
  }
  return out
}
