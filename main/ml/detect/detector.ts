// The Detector the trainer and predictor use: backbone + BiFPN neck + detection head + study/none
// head, with losses, prediction, parameter groups for fine-tuning, and weights as plain data.
import * as tf from '@tensorflow/tfjs-core'
import { STUDY_CLASSES } from '../../../common/domain'
import { FileReadError, UserError, errorMessage } from '../../core/errors'
import '../model/gradients'
import { variableGrads } from '../model/backprop'
import { withInitSeed } from '../model/init'
import { BatchNorm } from '../model/layers'
import type { Module, ForwardOptions, ParamKind } from '../model/module'
import { importLayersModel, type ImportOptions, type ImportReport } from '../model/pretrained'
import { getModuleWeights, setModuleWeights, type NamedWeights } from '../model/weights'
import { readSavedModel, writeSavedModel, type DetectorManifest } from './detector-io'
import { clipBox, flatBoxes, flipBoxesHorizontally, type Box, type Detections } from './boxes'
import { resolveDetectorConfig, type DetectorConfig, type DetectorConfigInput } from './config'
import { DetectorNet } from './detector-net'
import type { HeadOutput, ImageTargets } from './head'
import { mergeDetections, nonMaxSuppression, type MergeMode } from './postprocess'
import { imageLevelLosses } from './study-head'

/** Ground truth for a batch, one entry per image, in model-input pixels. */
export interface DetectionTargets {
  /** Boxes [x1, y1, x2, y2] per image (empty when the image has none). */
  boxes: Array<ArrayLike<ArrayLike<number>>>
  /** Class index per box (default 0, opacity). */
  labels?: Array<ArrayLike<number>>
  /** Index into STUDY_CLASSES (negative, typical, indeterminate, atypical), or null when unknown. */
  studyClass: Array<number | null>
  /**
   * Whether the image shows opacity (false: the `none` target). true with no boxes (about 6.6% of
   * positives) skips that image's detection loss instead of teaching "background"; null is unknown.
   */
  hasOpacity: Array<boolean | null>
}

export interface DetectorLosses {
  /** Weighted sum of the parts: cls + boxLossWeight * box (+ centerness) + study + none weights. */
  total: tf.Scalar
  cls: tf.Scalar
  box: tf.Scalar
  study: tf.Scalar
  none: tf.Scalar
  /** FCOS only: centre-ness BCE. */
  centerness?: tf.Scalar
}

export type LossValues = { [K in keyof DetectorLosses]: number }

export interface PredictOptions {
  /** Candidates below this confidence are dropped before merging (default 0.05). */
  scoreThreshold?: number
  /** IoU above which same-class boxes are merged or suppressed (default 0.5). */
  iouThreshold?: number
  /** Boxes kept per image (default 100). */
  maxDetections?: number
  /** Candidates per image considered before merging (default 1000). */
  topK?: number
  /** Class-wise NMS (default) or weighted box fusion. */
  merge?: MergeMode
  /** Horizontal-flip test-time augmentation: predict on the mirrored image too and merge. */
  flipTta?: boolean
}

export interface ImagePrediction extends Detections {
  /** Softmax over STUDY_CLASSES. */
  studyProbs: number[]
  /** Sigmoid "this image has no opacity". */
  noneScore: number
}

export interface ParameterGroup {
  /** `backbone/stem`, `backbone/stage1`, ..., `neck`, `head`, `study` (input to output). */
  name: string
  kind: 'backbone' | 'neck' | 'head'
  variableNames: string[]
  parameterCount: number
  trainable: boolean
  batchNormFrozen: boolean
}

/** What inference computes for a batch: the head's raw outputs, the image head's logits, and their scores. */
export interface DetectorOutputs extends HeadOutput {
  studyLogits: tf.Tensor2D
  noneLogits: tf.Tensor2D
  /** Per-class confidence [B, N, numClasses] (the head's scores()). */
  scores: tf.Tensor3D
  /** Softmax over STUDY_CLASSES [B, 4]. */
  studyProbs: tf.Tensor2D
  /** Sigmoid of noneLogits [B, 1]. */
  noneScores: tf.Tensor2D
}

/** The outputs prediction decodes, as flat arrays (from tfjs or ONNX Runtime). */
export interface PredictionOutputs {
  scores: Float32Array
  boxRegression: Float32Array
  studyProbs: Float32Array
  noneScores: Float32Array
}

/** How the weights were initialised, for the run's config.json and the saved model.json. */
export type Initialisation =
  | { kind: 'random'; seed: number }
  | { kind: 'pretrained'; source: string; matchedLayers: number; missingModules: number; seed: number }
  | { kind: 'checkpoint'; source: string; from: Initialisation }

export class Detector {
  readonly config: DetectorConfig
  initialisation: Initialisation
  /** The module tree, read by the ONNX exporter (main/ml/onnx) to emit the same graph. */
  readonly net: DetectorNet
  private readonly paths = new Map<Module, string>()

  constructor(config: DetectorConfig) {
    this.config = config
    this.net = withInitSeed(config.seed, () => new DetectorNet(config))
    for (const [path, module] of this.net.modules()) {
      this.paths.set(module, path)
      if (module instanceof BatchNorm) module.momentum = config.batchNormMomentum
    }
    this.initialisation = { kind: 'random', seed: config.seed }
  }

  /** Training (or evaluation) losses for a batch of [B, S, S, 1] images in [0, 1]. Call inside tf.tidy. */
  loss(
    images: tf.Tensor4D,
    targets: DetectionTargets,
    options: ForwardOptions = { training: true }
  ): DetectorLosses {
    const imageTargets = this.imageTargets(images, targets)
    const { head, image } = this.net.forward(images, options)
    const detection = this.net.head.loss(head, imageTargets)
    const { study, none } = imageLevelLosses(image, targets.studyClass, targets.hasOpacity)
    const c = this.config
    let total = tf.add(detection.cls, tf.mul(detection.box, c.boxLossWeight))
    if (detection.centerness) total = tf.add(total, detection.centerness)
    total = tf.add(total, tf.add(tf.mul(study, c.studyLossWeight), tf.mul(none, c.noneLossWeight)))
    return {
      total: total as tf.Scalar,
      cls: detection.cls,
      box: detection.box,
      study,
      none,
      ...(detection.centerness ? { centerness: detection.centerness } : {})
    }
  }

  /** One optimiser step on the trainable weights; returns the loss values. */
  trainStep(optimizer: tf.Optimizer, images: tf.Tensor4D, targets: DetectionTargets): LossValues {
    const { losses, gradients } = this.gradientsOf(images, targets)
    optimizer.applyGradients(gradients)
    tf.dispose(Object.values(gradients))
    return losses
  }

  /**
   * Losses and gradients as plain data, for synchronous data parallelism: each worker computes
   * gradients on its share of the batch, the trainer averages them and calls applyGradients().
   */
  computeGradients(
    images: tf.Tensor4D,
    targets: DetectionTargets
  ): { losses: LossValues; gradients: NamedWeights } {
    const { losses, gradients } = this.gradientsOf(images, targets)
    const byVariable = new Map(this.net.namedVariables().map((v) => [v.variable.name, v.name]))
    const out: NamedWeights = new Map()
    for (const [variableName, gradient] of Object.entries(gradients)) {
      out.set(byVariable.get(variableName)!, {
        shape: [...gradient.shape],
        values: Float32Array.from(gradient.dataSync() as Float32Array)
      })
    }
    tf.dispose(Object.values(gradients))
    return { losses, gradients: out }
  }

  /** Applies gradients named as in getWeights() (e.g. averaged over workers). */
  applyGradients(optimizer: tf.Optimizer, gradients: NamedWeights): void {
    const variables = new Map(this.net.namedVariables().map((v) => [v.name, v.variable]))
    const named: tf.NamedTensorMap = {}
    for (const [name, gradient] of gradients) {
      const variable = variables.get(name)
      if (!variable) throw new Error(`gradient for unknown weight ${name}`)
      named[variable.name] = tf.tensor(gradient.values, gradient.shape)
    }
    optimizer.applyGradients(named)
    tf.dispose(Object.values(named))
  }

  /** Boxes (model-input pixels), study probabilities and `none` score per image of [B, S, S, 1] in [0, 1]. */
  async predict(images: tf.Tensor4D, options: PredictOptions = {}): Promise<ImagePrediction[]> {
    this.checkImages(images)
    return this.predictWith((flipped) => this.readOutputs(images, flipped), images.shape[0], options)
  }

  /**
   * The inference outputs (inference mode, batch norms folded) of [B, S, S, 1] images; the ONNX
   * export emits exactly these. Call inside tf.tidy.
   */
  forwardOutputs(images: tf.Tensor4D): DetectorOutputs {
    const { head, image } = this.net.forward(images, { training: false })
    const { studyLogits, noneLogits } = image
    return {
      ...head,
      studyLogits,
      noneLogits,
      scores: this.net.head.scores(head),
      studyProbs: tf.softmax(studyLogits),
      noneScores: tf.sigmoid(noneLogits)
    }
  }

  /**
   * Decoding, NMS/WBF and TTA merging over outputs computed elsewhere (tfjs here, ONNX Runtime in
   * main/ml/onnx): `forward(flipped)` answers the outputs of the batch, mirrored when `flipped`.
   */
  async predictWith(
    forward: (flipped: boolean) => Promise<PredictionOutputs>,
    batch: number,
    options: PredictOptions = {}
  ): Promise<ImagePrediction[]> {
    const views = options.flipTta ? [false, true] : [false]
    const perView: Array<{ detections: Detections[]; studyProbs: Float32Array; noneScores: Float32Array }> =
      []
    for (const flipped of views)
      perView.push(this.decodeView(await forward(flipped), batch, flipped, options))
    const merge = options.merge ?? 'nms'
    const nms = { iouThreshold: options.iouThreshold ?? 0.5, maxDetections: options.maxDetections ?? 100 }
    const size = this.config.imageSize
    const studyCount = STUDY_CLASSES.length
    return Array.from({ length: batch }, (_, b) => {
      // with one view, NMS or WBF replaces NMS; with TTA, each view is NMS-ed first, then merged
      const sets = perView.map((v) =>
        views.length > 1 ? nonMaxSuppression(v.detections[b], nms) : v.detections[b]
      )
      const merged = mergeDetections(sets, merge, nms)
      const studyProbs = Array.from({ length: studyCount }, (_, k) =>
        mean(perView.map((v) => v.studyProbs[b * studyCount + k]))
      )
      return {
        boxes: merged.boxes.map((box) => clipBox(box, size)),
        scores: merged.scores,
        labels: merged.labels,
        studyProbs,
        noneScore: mean(perView.map((v) => v.noneScores[b]))
      }
    })
  }

  private async readOutputs(images: tf.Tensor4D, flipped: boolean): Promise<PredictionOutputs> {
    const [scores, boxes, studyProbs, noneScores] = tf.tidy(() => {
      const outputs = this.forwardOutputs(flipped ? tf.reverse(images, 2) : images)
      return [outputs.scores, outputs.boxRegression, outputs.studyProbs, outputs.noneScores]
    })
    const [scoreData, boxData, studyData, noneData] = (await Promise.all([
      scores.data(),
      boxes.data(),
      studyProbs.data(),
      noneScores.data()
    ])) as Float32Array[]
    tf.dispose([scores, boxes, studyProbs, noneScores])
    return { scores: scoreData, boxRegression: boxData, studyProbs: studyData, noneScores: noneData }
  }

  private decodeView(outputs: PredictionOutputs, batch: number, flipped: boolean, options: PredictOptions) {
    const n = this.net.head.locationCount
    const classes = this.config.numClasses
    const detections = Array.from({ length: batch }, (_, b) => {
      const d = this.net.head.decode(
        outputs.scores.subarray(b * n * classes, (b + 1) * n * classes),
        outputs.boxRegression.subarray(b * n * 4, (b + 1) * n * 4),
        options.scoreThreshold ?? 0.05,
        options.topK ?? 1000
      )
      return flipped ? { ...d, boxes: flipBoxesHorizontally(d.boxes, this.config.imageSize) } : d
    })
    return { detections, studyProbs: outputs.studyProbs, noneScores: outputs.noneScores }
  }

  /** Ordered groups for fine-tuning: backbone stages from the input, then neck, head and study head. */
  parameterGroups(): ParameterGroup[] {
    const groups: Array<{ name: string; kind: ParameterGroup['kind']; modules: Module[] }> = [
      ...this.net.backbone
        .stages()
        .map((s) => ({ name: `backbone/${s.name}`, kind: 'backbone' as const, modules: s.modules })),
      { name: 'neck', kind: 'neck', modules: [this.net.neck] },
      { name: 'head', kind: 'head', modules: [this.net.head] },
      { name: 'study', kind: 'head', modules: [this.net.imageHead] }
    ]
    return groups.map((g) => {
      const variables = g.modules.flatMap((m) => m.namedVariables(this.paths.get(m)))
      const weights = variables.filter((v) => v.kind === 'weight')
      const norms = g.modules
        .flatMap((m) => m.modules())
        .map(([, m]) => m)
        .filter((m): m is BatchNorm => m instanceof BatchNorm)
      return {
        name: g.name,
        kind: g.kind,
        variableNames: variables.map((v) => v.name),
        parameterCount: weights.reduce((n, v) => n + v.variable.size, 0),
        trainable: weights.some((v) => v.variable.trainable),
        batchNormFrozen: norms.length > 0 && norms.every((n) => n.statsFrozen)
      }
    })
  }

  /**
   * Freezes or unfreezes a group (`backbone/stage3`), every group under a prefix (`backbone`) or
   * everything (`*`). Batch-norm statistics follow: frozen while the group is frozen.
   */
  setTrainable(group: string, trainable: boolean): void {
    for (const module of this.groupModules(group)) {
      module.setTrainable(trainable)
      for (const [, m] of module.modules()) if (m instanceof BatchNorm) m.statsFrozen = !trainable
    }
  }

  /** Freezes (or releases) the batch-norm running statistics of a group without touching trainability. */
  setBatchNormFrozen(group: string, frozen: boolean): void {
    for (const module of this.groupModules(group))
      for (const [, m] of module.modules()) if (m instanceof BatchNorm) m.statsFrozen = frozen
  }

  trainableVariables(): tf.Variable[] {
    return this.net
      .namedVariables()
      .filter((v) => v.kind === 'weight' && v.variable.trainable)
      .map((v) => v.variable)
  }

  /** Every weight (and batch-norm statistic, kind 'state') by name, e.g. `backbone/blocks.3/expand/conv/kernel`. */
  getWeights(kind?: ParamKind): NamedWeights {
    return getModuleWeights(this.net, kind)
  }

  /** Assigns weights by name; all must be present unless `partial`. */
  setWeights(weights: NamedWeights, options: { partial?: boolean } = {}): void {
    setModuleWeights(this.net, weights, options)
  }

  /** Writes model.json + weights.bin into `dir` (atomically); `metadata` is the trainer's free-form record. */
  async save(dir: string, metadata: Record<string, unknown> = {}): Promise<DetectorManifest> {
    const stateNames = new Set(this.getWeights('state').keys())
    return writeSavedModel(dir, {
      config: this.config,
      initialisation: this.initialisation,
      metadata,
      weights: this.getWeights(),
      stateNames
    })
  }

  /** Loads backbone weights from a local TF.js Layers model by Keras layer name. */
  async importPretrained(modelJsonPath: string, options: ImportOptions = {}): Promise<ImportReport> {
    const report = await importLayersModel(this.net, modelJsonPath, options)
    this.initialisation = {
      kind: 'pretrained',
      source: modelJsonPath,
      matchedLayers: report.matched.length,
      missingModules: report.missingModules.length,
      seed: this.config.seed
    }
    return report
  }

  parameterCount(): { total: number; trainable: number } {
    const weights = this.net.namedVariables().filter((v) => v.kind === 'weight')
    return {
      total: weights.reduce((n, v) => n + v.variable.size, 0),
      trainable: weights.filter((v) => v.variable.trainable).reduce((n, v) => n + v.variable.size, 0)
    }
  }

  dispose(): void {
    this.net.dispose()
  }

  private gradientsOf(
    images: tf.Tensor4D,
    targets: DetectionTargets
  ): { losses: LossValues; gradients: tf.NamedTensorMap } {
    const variables = this.trainableVariables()
    if (variables.length === 0) throw new UserError('nothing to train: every parameter group is frozen')
    let parts: DetectorLosses | null = null
    let result: ReturnType<typeof variableGrads>
    try {
      result = variableGrads(() => {
        parts = this.loss(images, targets, { training: true })
        for (const t of Object.values(parts) as tf.Tensor[]) tf.keep(t)
        return parts.total
      }, variables)
    } catch (err) {
      throw explainOutOfMemory(err, images.shape)
    }
    const { value, grads } = result
    const kept = parts! as DetectorLosses
    const losses = Object.fromEntries(
      Object.entries(kept).map(([k, t]) => [k, (t as tf.Scalar).dataSync()[0]])
    ) as LossValues
    tf.dispose([value, ...(Object.values(kept) as tf.Tensor[])])
    return { losses, gradients: grads }
  }

  private groupModules(group: string): Module[] {
    const groups = this.moduleGroups()
    const selected = groups.filter((g) => group === '*' || g.name === group || g.name.startsWith(`${group}/`))
    if (selected.length === 0) {
      throw new UserError(
        `unknown parameter group ${group}; groups are ${groups.map((g) => g.name).join(', ')} (or a prefix such as backbone, or *)`
      )
    }
    return selected.flatMap((g) => g.modules)
  }

  private moduleGroups(): Array<{ name: string; modules: Module[] }> {
    return [
      ...this.net.backbone.stages().map((s) => ({ name: `backbone/${s.name}`, modules: s.modules })),
      { name: 'neck', modules: [this.net.neck] },
      { name: 'head', modules: [this.net.head] },
      { name: 'study', modules: [this.net.imageHead] }
    ]
  }

  private checkImages(images: tf.Tensor4D): void {
    const [, height, width, channels] = images.shape
    const size = this.config.imageSize
    if (images.rank !== 4 || height !== size || width !== size || channels !== 1) {
      throw new Error(
        `images must be [batch, ${size}, ${size}, 1] greyscale for this detector; got [${images.shape}]`
      )
    }
  }

  private imageTargets(images: tf.Tensor4D, targets: DetectionTargets): ImageTargets[] {
    this.checkImages(images)
    const batch = images.shape[0]
    for (const key of ['boxes', 'studyClass', 'hasOpacity'] as const) {
      if (targets[key].length !== batch)
        throw new Error(`targets.${key} has ${targets[key].length} entries for ${batch} images`)
    }
    return targets.boxes.map((boxes, b) => ({
      boxes: flatBoxes(boxes),
      labels: Int32Array.from(targets.labels?.[b] ?? new Array<number>(boxes.length).fill(0)),
      detectionValid: boxes.length > 0 || targets.hasOpacity[b] === false
    }))
  }
}

export function createDetector(input: DetectorConfigInput = {}): Detector {
  return new Detector(resolveDetectorConfig(input))
}

/** A detector of the same architecture as one whose resolved `config` is given (weights: fresh). */
export function detectorFromConfig(config: DetectorConfig): Detector {
  const { preset, minLevel: _minLevel, studyHead, ...rest } = config
  // configs saved before the spatial head existed had the global one
  return new Detector(resolveDetectorConfig({ preset, ...rest, studyHead: studyHead ?? 'global' }))
}

/** Rebuilds a detector saved with Detector.save(); its predictions equal the saved model's. */
export async function loadDetector(dir: string): Promise<Detector> {
  const { manifest, weights, weightsPath } = await readSavedModel(dir)
  const detector = detectorFromConfig(manifest.config)
  try {
    detector.setWeights(weights)
  } catch (err) {
    detector.dispose()
    throw new FileReadError(weightsPath, errorMessage(err))
  }
  detector.initialisation = { kind: 'checkpoint', source: dir, from: manifest.initialisation }
  return detector
}

/**
 * WASM aborts with a bare RuntimeError when its 4 GB heap is exhausted; say what happened and
 * what to change. The WASM module is unusable afterwards, so the worker must be restarted.
 */
function explainOutOfMemory(err: unknown, shape: readonly number[]): unknown {
  const message = errorMessage(err)
  if (
    tf.getBackend() !== 'wasm' ||
    !/memory access out of bounds|Aborted\(|Cannot enlarge memory|out of memory/i.test(message)
  )
    return err
  return new UserError(
    `the WASM backend ran out of memory (4 GB heap) in a training step on a [${shape}] batch: ` +
      'use a smaller batch size, image size or model, then restart the training worker'
  )
}

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length
}

export type { Box, Detections }
