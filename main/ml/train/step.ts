// One optimizer step and one validation pass over batches from the data pipeline.
import * as tf from '@tensorflow/tfjs-core'
import { availableParallelism } from 'node:os'
import type { Batch } from '../data/loader'
import type { Detector, DetectionTargets, DetectorLosses } from '../detect/detector'
import type { LossParts } from '../runs/results-csv'
import { withReplicaSum, type ReplicaSum } from '../model/replica-sum'
import { clipByGlobalNorm, type Optimizer, type ParamGrad } from './optimizer'

/**
 * The detector's learned weights by name (`backbone/blocks.3/expand/conv/kernel`), through its
 * public API: a fresh detector has every weight trainable, and trainableVariables() lists them in
 * the order of getWeights('weight'); shapes are checked so a change of that order cannot go unseen.
 */
export function namedWeightVariables(detector: Detector): Map<string, tf.Variable> {
  const names = [...detector.getWeights('weight').entries()]
  const variables = detector.trainableVariables()
  if (variables.length !== names.length) {
    throw new Error(
      `namedWeightVariables needs a detector with every weight trainable (${variables.length} of ${names.length} are)`
    )
  }
  const out = new Map<string, tf.Variable>()
  names.forEach(([name, weight], i) => {
    const variable = variables[i]
    if (weight.shape.join('x') !== variable.shape.join('x'))
      throw new Error(`weight order differs at ${name}: [${weight.shape}] vs [${variable.shape}]`)
    out.set(name, variable)
  })
  return out
}

/** Detector targets for a batch: boxes in model pixels, study class, opacity known or not. */
export function batchTargets(batch: Batch): DetectionTargets {
  return {
    boxes: batch.boxes,
    studyClass: batch.studyClasses.map((c) => (c < 0 ? null : c)),
    // an image of a positive study without boxes: neither "background everywhere" nor "none" is known
    hasOpacity: batch.boxes.map((boxes, i) => (!batch.detectionValid[i] ? null : boxes.length > 0))
  }
}

function batchImages(batch: Batch): tf.Tensor4D {
  return tf.tensor4d(batch.images, [batch.samples.length, batch.size, batch.size, 1])
}

function lossValues(losses: DetectorLosses): LossParts {
  const out: LossParts = {}
  for (const [key, tensor] of Object.entries(losses))
    if (tensor) out[key] = (tensor as tf.Scalar).dataSync()[0]
  return out
}

export interface StepResult {
  losses: LossParts
  /** Global gradient norm before clipping. */
  gradNorm: number
}

/** Images [start, end) of a batch, as a batch. */
export function sliceBatch(batch: Batch, start: number, end: number): Batch {
  const pixels = batch.size * batch.size
  return {
    samples: batch.samples.slice(start, end),
    images: batch.images.subarray(start * pixels, end * pixels),
    size: batch.size,
    boxes: batch.boxes.slice(start, end),
    studyClasses: batch.studyClasses.slice(start, end),
    detectionValid: batch.detectionValid.slice(start, end)
  }
}

/**
 * Images per forward/backward pass that fit the WASM heap (4 GB, shared by activations kept for
 * the backward pass): measured here, 8 images at 256 px train in ~3 GB and 4 at 512 px abort, so the
 * budget is 8 x 256 x 256 pixels. Native TensorFlow has no such ceiling.
 */
export function defaultMicroBatch(backend: string, imageSize: number): number {
  if (backend === 'tensorflow') return Number.POSITIVE_INFINITY
  return Math.max(1, Math.floor((8 * 256 * 256) / (imageSize * imageSize)))
}

/**
 * Fewest images a batch-norm pass should have. Measured on the demo data at 256 px (default
 * detector, lr 1e-2): with passes of 4 images the validation loss in inference mode blew up to ~300
 * within 8 steps (running statistics of 4-image batches do not describe single images); in one pass
 * of the whole batch of 8 it stayed between 3.5 and 8.
 */
export const MIN_NORM_BATCH = 8

/**
 * Threads that compute the gradients of a step by default: two where two cores exist and the
 * backend computes on one core per thread (WASM, tfjs issue #3830; the pure-JS CPU backend). The
 * helper thread (gradient-helper.ts) shares batch-norm statistics, so the step is the one-thread
 * step; it was opt-in while each thread normalised over its half (validation losses of 50-115 in
 * inference mode on the demo data where one thread stayed below 4). Native TensorFlow uses every
 * core itself.
 */
export function defaultThreads(backend: string, cores = availableParallelism()): number {
  return cores >= 2 && (backend === 'wasm' || backend === 'cpu') ? 2 : 1
}

/** Gradients of a batch (by tf variable name, summed over micro-batches weighted by images) and its mean loss parts. */
export interface BatchGradients {
  grads: Map<string, tf.Tensor>
  losses: LossParts
  images: number
}

/**
 * Forward and backward over `batch` for the detector's trainable weights. A batch larger than
 * `microBatch` is split and its gradients accumulated (weighted by images), so the result is the
 * gradient of the whole batch while the activations of only `microBatch` images are alive at once.
 */
export function batchGradients(
  detector: Detector,
  batch: Batch,
  microBatch = Number.POSITIVE_INFINITY
): BatchGradients {
  const total = batch.samples.length
  const chunk = Math.max(1, Math.min(total, microBatch))
  const passes: Pass[] = []
  for (let start = 0; start < total; start += chunk) {
    const count = Math.min(chunk, total - start)
    passes.push({ count, weight: count / total })
  }
  return passGradients(detector, batch, passes)
}

/**
 * One forward/backward pass over the next `count` images of a batch; its gradients and losses count
 * with `weight`. `sum`: the pass is this thread's part of a pass over two threads' images, whose
 * batch statistics and loss normalisers are summed over both (model/replica-sum.ts).
 */
export interface Pass {
  count: number
  weight: number
  sum?: ReplicaSum
}

/** Gradients and loss parts of `batch` in `passes` (their counts add up to the batch), each weighted. */
export function passGradients(detector: Detector, batch: Batch, passes: Pass[]): BatchGradients {
  const trainable = detector.trainableVariables()
  const losses: LossParts = {}
  let summed: Map<string, tf.Tensor> | null = null
  let start = 0
  for (const pass of passes) {
    const part = sliceBatch(batch, start, start + pass.count)
    start += pass.count
    const images = batchImages(part)
    const targets = batchTargets(part)
    let parts: DetectorLosses | null = null
    const forwardBackward = () =>
      tf.variableGrads(() => {
        parts = detector.loss(images, targets, { training: true })
        for (const t of Object.values(parts)) if (t) tf.keep(t as tf.Tensor)
        return parts.total
      }, trainable)
    const { value, grads } = pass.sum ? withReplicaSum(pass.sum, forwardBackward) : forwardBackward()
    for (const [key, loss] of Object.entries(lossValues(parts!)))
      losses[key] = (losses[key] ?? 0) + loss * pass.weight
    if (passes.length === 1 && pass.weight === 1) {
      summed = new Map(Object.entries(grads))
    } else {
      const next = new Map<string, tf.Tensor>()
      for (const [tfName, grad] of Object.entries(grads)) {
        const prior: tf.Tensor | undefined = summed?.get(tfName)
        next.set(
          tfName,
          tf.tidy(() => (prior ? tf.add(prior, tf.mul(grad, pass.weight)) : tf.mul(grad, pass.weight)))
        )
      }
      tf.dispose([...Object.values(grads), ...(summed ? [...summed.values()] : [])])
      summed = next
    }
    tf.dispose([images, value, ...(Object.values(parts!).filter(Boolean) as tf.Tensor[])])
  }
  return { grads: summed!, losses, images: start }
}

/** Clips `grads` (by tf variable name) to `gradClip` global norm and applies them; disposes them. */
export function applyGradients(
  detector: Detector,
  names: ReadonlyMap<tf.Variable, string>,
  optimizer: Optimizer,
  grads: Map<string, tf.Tensor>,
  lr: number,
  gradClip: number
): number {
  const byTfName = new Map(detector.trainableVariables().map((v) => [v.name, v]))
  const paramGrads: ParamGrad[] = [...grads].map(([tfName, grad]) => {
    const variable = byTfName.get(tfName)!
    return { name: names.get(variable)!, variable, grad }
  })
  const clipped = clipByGlobalNorm(paramGrads, gradClip)
  if (Number.isFinite(clipped.norm)) optimizer.apply(clipped.grads, lr)
  const created = clipped.grads.filter((g, i) => g.grad !== paramGrads[i].grad).map((g) => g.grad)
  tf.dispose([...paramGrads.map((g) => g.grad), ...created])
  return clipped.norm
}

/** Forward, backward, clip and update the trainable weights of `detector` (see batchGradients). */
export function trainStep(
  detector: Detector,
  names: ReadonlyMap<tf.Variable, string>,
  optimizer: Optimizer,
  batch: Batch,
  lr: number,
  gradClip: number,
  microBatch = Number.POSITIVE_INFINITY
): StepResult {
  const { grads, losses } = batchGradients(detector, batch, microBatch)
  return { losses, gradNorm: applyGradients(detector, names, optimizer, grads, lr, gradClip) }
}

/** Loss parts of a batch in inference mode (running batch-norm statistics, no updates). */
export function validationLosses(detector: Detector, batch: Batch): LossParts {
  return tf.tidy(() => {
    const images = batchImages(batch)
    const losses = detector.loss(images, batchTargets(batch), { training: false })
    return lossValues(losses)
  })
}

/** Running mean of loss parts, weighted by batch size. */
export class LossMeter {
  sums: LossParts = {}
  count = 0

  add(losses: LossParts, weight: number): void {
    for (const [key, value] of Object.entries(losses)) this.sums[key] = (this.sums[key] ?? 0) + value * weight
    this.count += weight
  }

  mean(): LossParts {
    const out: LossParts = {}
    for (const [key, sum] of Object.entries(this.sums)) out[key] = this.count > 0 ? sum / this.count : NaN
    return out
  }
}
