// Data-parallel training steps on one machine: the WASM backend runs one core per thread (tfjs
// issue #3830), so a second core works through a helper thread that holds a copy of the detector.
// Each step the trainer publishes its weights and batch-norm statistics through shared memory, the
// helper computes the gradients of its share of the batch while the trainer computes its own, and
// the trainer merges them (weighted by images), clips and applies them with its optimizer; the
// running statistics combine as if the two parts were micro-batches run one after the other. So a
// step equals trainStep with micro-batches of half the batch. The model, optimizer,
// weight average and checkpoints stay in the trainer: the helper holds nothing that must be saved.
import * as tf from '@tensorflow/tfjs-core'
import { Worker } from 'node:worker_threads'
import { workerScript } from '../../core/worker-scripts'
import type { Batch } from '../data/loader'
import type { DetectorConfig } from '../detect/config'
import type { Detector } from '../detect/detector'
import type { BackendName } from '../backend/ladder'
import type { LossParts } from '../runs/results-csv'
import type { Optimizer } from './optimizer'
import { applyGradients, batchGradients, sliceBatch, type StepResult } from './step'

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
  /** Weights and statistics, published by the trainer; after a step, the helper's statistics. */
  weights: SharedArrayBuffer
  /** The helper's gradients (trainable weights only; others untouched). */
  grads: SharedArrayBuffer
}

/** @internal Trainer → helper. */
export interface HelperRequest {
  trainability: Trainability
  microBatch: number
  part: Omit<Batch, 'samples'> & { count: number }
}

/** @internal Helper → trainer. */
export type HelperReply =
  | { type: 'ready' }
  | { type: 'done'; losses: LossParts; images: number; trained: string[] }
  | { type: 'error'; message: string }

export class GradientHelper {
  private constructor(
    private readonly worker: Worker,
    private readonly slots: Slot[],
    private readonly weights: Float32Array,
    private readonly grads: Float32Array
  ) {}

  /** Starts a helper thread with a copy of `detector`'s architecture on `backend`. */
  static async start(detector: Detector, backend: BackendName): Promise<GradientHelper> {
    const script = workerScript('gradient-worker')
    const stateNames = new Set(detector.getWeights('state').keys())
    const slots: Slot[] = []
    let offset = 0
    for (const [name, weight] of detector.getWeights()) {
      const size = weight.values.length
      slots.push({ name, offset, size, shape: [...weight.shape], state: stateNames.has(name) })
      offset += size
    }
    const weights = new SharedArrayBuffer(offset * 4)
    const grads = new SharedArrayBuffer(offset * 4)
    const init: HelperInit = { config: detector.config, backend, slots, weights, grads }
    const worker = new Worker(script, { workerData: init })
    const helper = new GradientHelper(worker, slots, new Float32Array(weights), new Float32Array(grads))
    try {
      await helper.reply()
    } catch (err) {
      await worker.terminate()
      throw err
    }
    return helper
  }

  /**
   * One optimizer step over `batch`: the first part here, the rest (half, rounded down) in the
   * helper. The same update as trainStep with micro-batches of half the batch (this side's first),
   * running statistics included.
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
    const total = batch.samples.length
    const own = Math.ceil(total / 2)
    this.publish(detector)
    const theirs = sliceBatch(batch, own, total)
    const request: HelperRequest = {
      trainability,
      microBatch,
      part: {
        ...theirs,
        samples: undefined,
        images: theirs.images.slice(),
        count: total - own
      } as HelperRequest['part']
    }
    const answer = this.reply()
    this.worker.postMessage(request, [request.part.images.buffer as ArrayBuffer])
    // the helper works in parallel with this synchronous pass
    const mine = batchGradients(detector, sliceBatch(batch, 0, own), microBatch)
    let reply: HelperReply
    try {
      reply = await answer
      if (reply.type !== 'done') throw new Error(`gradient helper: unexpected ${reply.type} reply`)
    } catch (err) {
      tf.dispose([...mine.grads.values()])
      throw err
    }
    const wMine = own / total
    const wTheirs = reply.images / total
    const slotOf = new Map(this.slots.map((s) => [s.name, s]))
    const byTfName = new Map(detector.trainableVariables().map((v) => [v.name, v]))
    const merged = new Map<string, tf.Tensor>()
    for (const [tfName, grad] of mine.grads) {
      const variable = byTfName.get(tfName)
      const slot = variable ? slotOf.get(names.get(variable) ?? '') : undefined
      if (!slot) throw new Error(`no shared slot for gradient ${tfName}`)
      const other = this.grads.subarray(slot.offset, slot.offset + slot.size)
      merged.set(
        tfName,
        tf.tidy(() => tf.add(tf.mul(grad, wMine), tf.mul(tf.tensor(other, grad.shape, 'float32'), wTheirs)))
      )
    }
    tf.dispose([...mine.grads.values()])
    this.mergeStatistics(detector)
    const losses: LossParts = {}
    for (const key of new Set([...Object.keys(mine.losses), ...Object.keys(reply.losses)])) {
      losses[key] = (mine.losses[key] ?? 0) * wMine + (reply.losses[key] ?? 0) * wTheirs
    }
    return { losses, gradNorm: applyGradients(detector, names, optimizer, merged, lr, gradClip) }
  }

  async close(): Promise<void> {
    await this.worker.terminate()
  }

  /** Batch-norm statistics as published for the current step. */
  private publishedState = new Map<string, Float32Array>()

  private publish(detector: Detector): void {
    const current = detector.getWeights()
    for (const slot of this.slots) {
      const values = current.get(slot.name)!.values
      this.weights.set(values, slot.offset)
      if (slot.state) this.publishedState.set(slot.name, Float32Array.from(values))
    }
  }

  /**
   * Running statistics as if the two parts had run one after the other (this side's first), as
   * micro-batches do: with s0 the published value, this side's update s1 = m s0 + (1 - m) b1 and the
   * helper's s2 = m s0 + (1 - m) b2, the sequential result m s1 + (1 - m) b2 is m (s1 - s0) + s2.
   * A frozen statistic (s1 = s2 = s0) stays exactly as it was.
   */
  private mergeStatistics(detector: Detector): void {
    const mine = detector.getWeights('state')
    if (mine.size === 0) return
    const m = detector.config.batchNormMomentum
    const merged = new Map<string, { shape: number[]; values: Float32Array }>()
    for (const slot of this.slots) {
      if (!slot.state) continue
      const s1 = mine.get(slot.name)!.values
      const s0 = this.publishedState.get(slot.name)!
      const s2 = this.weights.subarray(slot.offset, slot.offset + slot.size)
      const values = new Float32Array(slot.size)
      for (let i = 0; i < slot.size; i++) values[i] = m * (s1[i] - s0[i]) + s2[i]
      merged.set(slot.name, { shape: slot.shape, values })
    }
    tf.tidy(() => detector.setWeights(merged, { partial: true }))
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
