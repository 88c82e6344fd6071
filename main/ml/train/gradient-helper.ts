// Data-parallel training steps on one machine: the WASM backend runs one core per thread (tfjs
// issue #3830), so a second core works through a helper thread that holds a copy of the detector.
// Each step the trainer publishes its weights and batch-norm statistics through shared memory and
// both threads run their share of every pass of the batch at once. Batch norm is synchronised: its
// channel sums (forward and backward) and the loss normalisers are summed over both threads
// (pair-sum.ts), so each pass normalises over all of its images and the step equals trainStep with
// passes twice the micro-batch - with the default micro-batch at 256 px, one pass over the whole
// batch. The trainer adds the two threads' gradients, clips and applies them with its optimizer; both
// threads compute the same batch statistics, so the trainer's running statistics are already the
// whole batch's. The model, optimizer, weight average and checkpoints stay in the trainer: the
// helper holds nothing that must be saved.
import * as tf from '@tensorflow/tfjs-core'
import { Worker } from 'node:worker_threads'
import { workerScript } from '../../core/worker-scripts'
import type { Batch } from '../data/loader'
import type { DetectorConfig } from '../detect/config'
import type { Detector } from '../detect/detector'
import type { BackendName } from '../backend/ladder'
import type { LossParts } from '../runs/results-csv'
import type { Optimizer } from './optimizer'
import { PairSum, pairSumBuffers, type PairSumBuffers } from './pair-sum'
import { applyGradients, passGradients, sliceBatch, trainStep, type Pass, type StepResult } from './step'

/** Trainability of parameter groups, applied in order (as Detector.setTrainable). */
export type Trainability = Array<[group: string, trainable: boolean]>

/** One weight's place in the shared layout (every weight and batch-norm statistic of the detector). */
export interface Slot {
  name: string
  offset: number
  size: number
  shape: number[]
  state: boolean
}

/** @internal What the helper thread starts with. */
export interface HelperInit {
  config: DetectorConfig
  backend: BackendName
  slots: Slot[]
  /** Weights and statistics, published by the trainer before each step. */
  weights: SharedArrayBuffer
  /** The helper's gradients (trainable weights only; others untouched). */
  grads: SharedArrayBuffer
  /** The sums over both threads (pair-sum.ts); the helper is thread 1. */
  sums: PairSumBuffers
}

/** @internal Trainer → helper. */
export interface HelperRequest {
  trainability: Trainability
  /** The helper's share of each pass (in order; its images in `part`, one pass after the other). */
  passes: Array<{ count: number; weight: number }>
  part: Omit<Batch, 'samples'> & { count: number }
}

/** @internal Helper → trainer. */
export type HelperReply =
  | { type: 'ready' }
  | { type: 'done'; losses: LossParts; images: number; trained: string[]; cpuMs: number }
  | { type: 'error'; message: string }

export class GradientHelper {
  private constructor(
    private readonly worker: Worker,
    private readonly slots: Slot[],
    private readonly weights: Float32Array,
    private readonly grads: Float32Array,
    private readonly pair: PairSum
  ) {}

  /** Starts a helper thread with a copy of `detector`'s architecture on `backend`. */
  static async start(detector: Detector, backend: BackendName): Promise<GradientHelper> {
    const script = workerScript('gradient-worker')
    const stateNames = new Set(detector.getWeights('state').keys())
    const slots: Slot[] = []
    let offset = 0
    let widest = 1
    for (const [name, weight] of detector.getWeights()) {
      const size = weight.values.length
      slots.push({ name, offset, size, shape: [...weight.shape], state: stateNames.has(name) })
      offset += size
      if (stateNames.has(name)) widest = Math.max(widest, size)
    }
    const weights = new SharedArrayBuffer(offset * 4)
    const grads = new SharedArrayBuffer(offset * 4)
    // the widest exchange: a batch-norm backward pass, two sums per channel and a count
    const sums = pairSumBuffers(2 * widest + 1)
    const init: HelperInit = { config: detector.config, backend, slots, weights, grads, sums }
    const worker = new Worker(script, { workerData: init })
    const helper = new GradientHelper(
      worker,
      slots,
      new Float32Array(weights),
      new Float32Array(grads),
      new PairSum(sums, 0)
    )
    try {
      await helper.reply()
    } catch (err) {
      await worker.terminate()
      throw err
    }
    return helper
  }

  /**
   * One optimizer step over `batch` split over the two threads: every pass of `microBatch` images
   * per thread takes the next images of the batch, the first half (rounded up) here, the rest in the
   * helper, with batch norm and loss normalisers over both halves. The same update as trainStep
   * with passes of 2 x `microBatch` images, running statistics included.
   */
  async step(
    detector: Detector,
    names: ReadonlyMap<tf.Variable, string>,
    optimizer: Optimizer,
    batch: Batch,
    lr: number,
    gradClip: number,
    microBatch: number,
    trainability: Trainability
  ): Promise<StepResult> {
    if (this.pair.aborted) throw new Error('gradient helper: a previous step failed')
    const total = batch.samples.length
    if (total < 2) return trainStep(detector, names, optimizer, batch, lr, gradClip, microBatch)
    const plan = splitPasses(total, microBatch)
    const mine = concatBatches(plan.map((p) => sliceBatch(batch, p.start, p.start + p.own)))
    const theirs = concatBatches(
      plan.map((p) => sliceBatch(batch, p.start + p.own, p.start + p.own + p.theirs))
    )
    this.publish(detector)
    const request: HelperRequest = {
      trainability,
      passes: plan.filter((p) => p.theirs > 0).map((p) => ({ count: p.theirs, weight: p.weight })),
      part: { ...theirs, samples: undefined, count: theirs.samples.length } as HelperRequest['part']
    }
    const answer = this.reply()
    this.worker.postMessage(request, [request.part.images.buffer as ArrayBuffer])
    // the helper works in parallel with this synchronous pass, meeting it at every batch norm
    const passes: Pass[] = plan.map((p) => ({
      count: p.own,
      weight: p.weight,
      ...(p.theirs > 0 ? { sum: this.pair.exchange } : {})
    }))
    let own: ReturnType<typeof passGradients>
    try {
      own = passGradients(detector, mine, passes)
    } catch (err) {
      this.pair.abort()
      const helperFailure = await answer.then(
        () => null,
        (failure: unknown) => failure
      )
      // the helper's own failure, when it is why this side stopped
      throw this.pair.abortedByOther && helperFailure ? helperFailure : err
    }
    let reply: HelperReply
    try {
      reply = await answer
      if (reply.type !== 'done') throw new Error(`gradient helper: unexpected ${reply.type} reply`)
    } catch (err) {
      tf.dispose([...own.grads.values()])
      throw err
    }
    this.lastHelperCpuMs = reply.cpuMs
    const merged = this.addHelperGradients(detector, names, own.grads)
    // each thread's losses are its images' share of every pass's (normalised over the whole pass)
    const losses: LossParts = {}
    for (const key of new Set([...Object.keys(own.losses), ...Object.keys(reply.losses)]))
      losses[key] = (own.losses[key] ?? 0) + (reply.losses[key] ?? 0)
    return { losses, gradNorm: applyGradients(detector, names, optimizer, merged, lr, gradClip) }
  }

  /** This thread's gradients plus the helper's (from shared memory), by tf variable name; disposes `own`. */
  private addHelperGradients(
    detector: Detector,
    names: ReadonlyMap<tf.Variable, string>,
    own: Map<string, tf.Tensor>
  ): Map<string, tf.Tensor> {
    const slotOf = new Map(this.slots.map((s) => [s.name, s]))
    const byTfName = new Map(detector.trainableVariables().map((v) => [v.name, v]))
    const merged = new Map<string, tf.Tensor>()
    try {
      for (const [tfName, grad] of own) {
        const variable = byTfName.get(tfName)
        const slot = variable ? slotOf.get(names.get(variable) ?? '') : undefined
        if (!slot) throw new Error(`no shared slot for gradient ${tfName}`)
        const theirs = this.grads.subarray(slot.offset, slot.offset + slot.size)
        merged.set(tfName, tf.tidy(() => tf.add(grad, tf.tensor(theirs, grad.shape, 'float32'))))
      }
    } catch (err) {
      tf.dispose([...merged.values()])
      throw err
    } finally {
      tf.dispose([...own.values()])
    }
    return merged
  }

  /** CPU time the helper thread spent on the last step (NaN where threads cannot be timed). */
  lastHelperCpuMs = Number.NaN

  /** Sums exchanged with the helper and the time this thread waited for it, since the start. */
  get exchangeStats(): { turns: number; waitMs: number } {
    return { ...this.pair.stats }
  }

  async close(): Promise<void> {
    await this.worker.terminate()
  }

  private publish(detector: Detector): void {
    const current = detector.getWeights()
    for (const slot of this.slots) this.weights.set(current.get(slot.name)!.values, slot.offset)
  }

  private reply(): Promise<HelperReply> {
    return new Promise((resolve, reject) => {
      const onMessage = (message: HelperReply) => {
        cleanup()
        if (message.type === 'error') reject(new Error(`gradient helper: ${message.message}`))
        else resolve(message)
      }
      const onError = (err: Error) => {
        cleanup()
        reject(err)
      }
      const onExit = (code: number) => {
        cleanup()
        reject(new Error(`gradient helper exited with code ${code}`))
      }
      const cleanup = () => {
        this.worker.off('message', onMessage)
        this.worker.off('error', onError)
        this.worker.off('exit', onExit)
      }
      this.worker.on('message', onMessage)
      this.worker.on('error', onError)
      this.worker.on('exit', onExit)
    })
  }
}

/** A pass of a two-thread step: images [start, start + own) here, the next `theirs` in the helper. */
interface PlannedPass {
  start: number
  own: number
  theirs: number
  weight: number
}

/**
 * Passes of 2 x `microBatch` images (trainStep's passes with twice the micro-batch), each split
 * in two halves, the first rounded up. A last pass of one image runs here alone.
 */
export function splitPasses(total: number, microBatch: number): PlannedPass[] {
  const size = Math.max(1, Math.min(total, 2 * microBatch))
  const plan: PlannedPass[] = []
  for (let start = 0; start < total; start += size) {
    const count = Math.min(size, total - start)
    const own = Math.ceil(count / 2)
    plan.push({ start, own, theirs: count - own, weight: count / total })
  }
  return plan
}

/** Batches one after the other, as one batch. */
function concatBatches(parts: Batch[]): Batch {
  if (parts.length === 1) return { ...parts[0], images: parts[0].images.slice() }
  const images = new Float32Array(parts.reduce((n, p) => n + p.images.length, 0))
  let offset = 0
  for (const part of parts) {
    images.set(part.images, offset)
    offset += part.images.length
  }
  return {
    samples: parts.flatMap((p) => p.samples),
    images,
    size: parts[0].size,
    boxes: parts.flatMap((p) => p.boxes),
    studyClasses: parts.flatMap((p) => p.studyClasses),
    detectionValid: parts.flatMap((p) => p.detectionValid)
  }
}
