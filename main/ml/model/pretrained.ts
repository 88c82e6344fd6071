// Imports pretrained weights from a local TF.js Layers model (model.json + binary shards), matching
// Keras layer names to modules' `sourceName`s (or an explicit mapping file). A 3-channel first conv
// is summed over its input channels for greyscale input; a conv bias before a batch norm (Keras'
// ResNet) is folded into that norm's moving mean. Every backbone layer must be found and every shape
// must fit, or the import fails naming what did not: a silently half-loaded backbone would train
// with the wrong recipe (pretrained learning rate and freezing on random weights).
import { mkdir, readFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import * as tf from '@tensorflow/tfjs-core'
import { FileReadError, UserError, errorMessage } from '../../core/errors'
import { writeFileAtomic, writeJsonAtomic } from '../../core/fs-atomic'
import { ConvBn } from './layers'
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

async function readJson(path: string, what: string): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await readFile(path, 'utf8'))
  } catch (err) {
    const reason =
      (err as NodeJS.ErrnoException).code === 'ENOENT'
        ? 'file not found'
        : `not a readable ${what} (${errorMessage(err)})`
    throw new FileReadError(path, reason)
  }
}

/** Reads every float weight of a TF.js Layers model, keyed by its manifest name (e.g. `stem_conv/kernel`). */
export async function readLayersModelWeights(modelJsonPath: string): Promise<Map<string, WeightTensor>> {
  const manifest = (await readJson(modelJsonPath, 'model.json')) as { weightsManifest?: ManifestGroup[] }
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
  /** Accept a backbone whose layers are only partly in the source (the rest keep their random init). */
  partial?: boolean
}

/**
 * A layer-name mapping file, given instead of a model.json where the source's layer names are not
 * the ones this backbone's Keras counterpart uses (e.g. a ResNet-18 port: Keras ships no ResNet-18):
 * `{ "model": "resnet18/model.json", "layers": { "res2a_branch2a": "backbone/layer1/blocks.0/conv1/conv", ... },
 *    "partial": false }`; `model` is relative to the mapping file.
 */
export interface LayerMappingFile {
  model: string
  layers: Record<string, string>
  partial?: boolean
}

export interface ImportReport {
  source: string
  /** The mapping file the source and layer names came from, when one was given. */
  mappingFile: string | null
  /** Source layers whose weights were loaded, with the module each went to. */
  matched: Array<{ sourceLayer: string; module: string }>
  /** Source layers with weights that no module claims (e.g. Keras' classifier or Normalization). */
  unmatchedSourceLayers: string[]
  /** Modules expecting pretrained weights that the source lacks (only with `partial`: they keep their init). */
  missingModules: string[]
  /** Weights whose RGB input channels were summed into the single greyscale channel. */
  greyscaleAdapted: string[]
  /** Conv biases (Keras' ResNet convs have them, ours do not) folded into the next batch norm's moving mean. */
  foldedBiases: string[]
  /** Weights of matched layers that no variable takes (neither loaded nor folded). */
  ignoredWeights: string[]
  importedValues: number
}

/**
 * Loads `path` into `root`'s modules: a TF.js Layers model.json, or a layer-mapping file naming one.
 * Throws a UserError naming the file when a shape does not fit, nothing matches, or (unless partial)
 * a module expecting pretrained weights finds none.
 */
export async function importLayersModel(
  root: Module,
  path: string,
  options: ImportOptions = {}
): Promise<ImportReport> {
  const { modelJsonPath, mappingFile, mapping, partial } = await resolveSource(path, options)
  const source = await readLayersModelWeights(modelJsonPath)
  const bySourceName = new Map<string, [string, Module]>()
  const byPath = new Map<string, Module>()
  for (const [modulePath, module] of root.modules()) {
    byPath.set(modulePath, module)
    if (module.sourceName) bySourceName.set(module.sourceName, [modulePath, module])
  }
  for (const [layer, modulePath] of Object.entries(mapping)) {
    if (!byPath.has(modulePath))
      throw new UserError(
        `${mappingFile ?? 'pretrained mapping'}: ${layer} -> ${modulePath}: the model has no module ${modulePath}`
      )
  }

  const report: ImportReport = {
    source: modelJsonPath,
    mappingFile,
    matched: [],
    unmatchedSourceLayers: [],
    missingModules: [],
    greyscaleAdapted: [],
    foldedBiases: [],
    ignoredWeights: [],
    importedValues: 0
  }
  const targets = new Map<Module, string>()
  const planned: Array<{
    layer: string
    modulePath: string
    module: Module
    weights: Array<[string, WeightTensor]>
  }> = []
  for (const [layer, layerWeights] of groupByLayer(source)) {
    const target: [string, Module] | undefined = Object.hasOwn(mapping, layer)
      ? [mapping[layer], byPath.get(mapping[layer])!]
      : bySourceName.get(layer)
    if (!target) {
      report.unmatchedSourceLayers.push(layer)
      continue
    }
    planned.push({ layer, modulePath: target[0], module: target[1], weights: layerWeights })
    targets.set(target[1], layer)
  }
  for (const [sourceName, [modulePath, module]] of bySourceName)
    if (!targets.has(module)) report.missingModules.push(`${modulePath} (${sourceName})`)
  // every check before the first assignment: a refused file leaves the model as it was
  checkCoverage(report, planned.length, partial)
  checkShapes(planned, modelJsonPath)

  const biases: Array<[modulePath: string, Module, WeightTensor]> = []
  for (const { layer, modulePath, module, weights } of planned) {
    const variables = new Map(module.ownVariables().map((v) => [v.name, v.variable]))
    for (const [weightName, weight] of weights) {
      const variable = variables.get(weightName)
      if (!variable) {
        if (weightName === 'bias') biases.push([modulePath, module, weight])
        else report.ignoredWeights.push(`${layer}/${weightName}`)
        continue
      }
      let values = weight.values
      if (!sameShape(weight.shape, variable.shape)) {
        values = sumInputChannels(weight)
        report.greyscaleAdapted.push(`${modulePath}/${weightName}`)
      }
      variable.assign(tf.tensor(values, variable.shape, 'float32'))
      report.importedValues += values.length
    }
    report.matched.push({ sourceLayer: layer, module: modulePath })
  }
  // after every layer: the batch norm a bias folds into may come later in the file
  for (const [modulePath, module, bias] of biases) {
    if (foldBias(root, module, bias)) report.foldedBiases.push(`${modulePath}/bias`)
    else report.ignoredWeights.push(`${targets.get(module)}/bias`)
  }
  return report
}

async function resolveSource(
  path: string,
  options: ImportOptions
): Promise<{
  modelJsonPath: string
  mappingFile: string | null
  mapping: Record<string, string>
  partial: boolean
}> {
  const json = await readJson(path, 'model.json or layer-mapping file')
  if (Array.isArray(json.weightsManifest) || !('layers' in json || 'model' in json))
    return {
      modelJsonPath: path,
      mappingFile: null,
      mapping: options.mapping ?? {},
      partial: options.partial ?? false
    }
  const file = json as Partial<LayerMappingFile>
  const layersOk =
    file.layers !== null &&
    typeof file.layers === 'object' &&
    Object.values(file.layers).every((v) => typeof v === 'string')
  if (typeof file.model !== 'string' || !layersOk)
    throw new FileReadError(
      path,
      'a layer-mapping file needs "model" (the model.json, relative to this file) and "layers" ({ source layer: module path })'
    )
  return {
    modelJsonPath: resolve(dirname(path), file.model),
    mappingFile: path,
    mapping: { ...file.layers, ...options.mapping },
    partial: options.partial ?? file.partial === true
  }
}

/** `a/b/stem_conv/kernel` -> layer `stem_conv`, weight `kernel`. */
function groupByLayer(source: Map<string, WeightTensor>): Map<string, Array<[string, WeightTensor]>> {
  const layers = new Map<string, Array<[weightName: string, WeightTensor]>>()
  for (const [name, weight] of source) {
    const parts = name.split('/')
    const layer = parts.length >= 2 ? parts[parts.length - 2] : name
    layers.set(layer, [...(layers.get(layer) ?? []), [parts[parts.length - 1], weight]])
  }
  return layers
}

/** Something must match, and (unless partial) every backbone layer must find its weights. */
function checkCoverage(report: ImportReport, matchedLayers: number, partial: boolean): void {
  if (!matchedLayers)
    throw new UserError(
      `${report.source}: no layer matches this backbone's layer names (its layers: ${preview(report.unmatchedSourceLayers)}); ` +
        'give a mapping file (see "Pretrained backbones" in the README)'
    )
  if (report.missingModules.length && !partial)
    throw new UserError(
      `${report.source}: ${report.missingModules.length} backbone layer(s) have no weights there: ${preview(report.missingModules)} ` +
        '(another variant or width? a mapping file with "partial": true imports the rest)'
    )
}

/** Every weight that has a variable must fit it (or be an RGB stem for a greyscale one), before anything is assigned. */
function checkShapes(
  planned: Array<{
    layer: string
    modulePath: string
    module: Module
    weights: Array<[string, WeightTensor]>
  }>,
  modelJsonPath: string
): void {
  const problems: string[] = []
  for (const { layer, modulePath, module, weights } of planned) {
    const variables = new Map(module.ownVariables().map((v) => [v.name, v.variable]))
    for (const [weightName, weight] of weights) {
      const variable = variables.get(weightName)
      if (!variable || sameShape(weight.shape, variable.shape) || isRgbToGrey(weight.shape, variable.shape))
        continue
      problems.push(
        `layer ${layer} weight ${weightName} has shape [${weight.shape.join(', ')}] but ${modulePath}/${weightName} needs [${variable.shape.join(', ')}]`
      )
    }
  }
  if (problems.length)
    throw new UserError(
      `${modelJsonPath}: ${problems.length} weight(s) do not fit this backbone (another variant, width or input size?): ${preview(problems, '; ')}`
    )
}

/** A conv bias b before a batch norm: BN(conv(x) + b) = BN(conv(x)) with the moving mean lowered by b. */
function foldBias(root: Module, conv: Module, bias: WeightTensor): boolean {
  const owner = root.modules().find(([, m]) => m instanceof ConvBn && m.conv === conv)?.[1] as
    ConvBn | undefined
  if (!owner || bias.values.length !== owner.bn.channels) return false
  const { movingMean } = owner.bn
  movingMean.assign(tf.sub(movingMean, tf.tensor1d(bias.values)))
  return true
}

function preview(items: string[], separator = ', '): string {
  return items.slice(0, 5).join(separator) + (items.length > 5 ? ` (and ${items.length - 5} more)` : '')
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

/**
 * Writes the weights of `root`'s modules that carry a Keras layer name as a TF.js Layers weights
 * manifest (`model.json` + `group1-shard1of1.bin`, weights only: no topology), so a backbone trained
 * here is a `--pretrained` file for another run of the same backbone and width. The shard is
 * written first and model.json last, each atomically: a model.json always has its whole shard.
 */
export async function writeBackboneLayersModel(
  root: Module,
  dir: string,
  description: Record<string, unknown> = {}
): Promise<{ modelJson: string; layers: number; values: number; bytes: number }> {
  const weights: Array<{ name: string; shape: number[]; dtype: 'float32' }> = []
  const chunks: Float32Array[] = []
  let layers = 0
  for (const [, module] of root.modules()) {
    if (!module.sourceName) continue
    layers++
    for (const { name, variable } of module.ownVariables()) {
      weights.push({ name: `${module.sourceName}/${name}`, shape: [...variable.shape], dtype: 'float32' })
      chunks.push(Float32Array.from(variable.dataSync() as Float32Array))
    }
  }
  if (!layers) throw new UserError('this model has no layers with Keras names to write')
  const values = chunks.reduce((n, c) => n + c.length, 0)
  const data = new Float32Array(values)
  let at = 0
  for (const chunk of chunks) {
    data.set(chunk, at)
    at += chunk.length
  }
  await mkdir(dir, { recursive: true })
  const shard = 'group1-shard1of1.bin'
  await writeFileAtomic(join(dir, shard), new Uint8Array(data.buffer))
  const modelJson = join(dir, 'model.json')
  await writeJsonAtomic(modelJson, {
    format: 'layers-model',
    generatedBy: 'CXR Studio',
    convertedBy: null,
    modelTopology: null,
    userDefinedMetadata: description,
    weightsManifest: [{ paths: [shard], weights }]
  })
  return { modelJson, layers, values, bytes: data.byteLength }
}
