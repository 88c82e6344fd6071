// An exponential moving average of the model (as EfficientDet and YOLOv5 train): validation,
// checkpoints' models and prediction use the average, which is steadier than the last step's weights
// when a small batch and a high learning rate make each step noisy. Batch-norm running statistics are
// averaged too, so the averaged weights are normalised by statistics that belong to them.
import * as tf from '@tensorflow/tfjs-core'
import type { Detector } from '../detect/detector'
import type { NamedWeights } from '../model/weights'

export class WeightAverage {
  private readonly shadows = new Map<string, tf.Variable>()
  /** Batch-norm statistics: small, so averaged as plain arrays read through the detector's API. */
  private stateShadow: NamedWeights

  constructor(
    private readonly variables: ReadonlyMap<string, tf.Variable>,
    private readonly detector: Detector,
    /** The decay ramps up as (1 + t) / (10 + t), so early averages do not drag in the random start. */
    readonly maxDecay = 0.999
  ) {
    for (const [name, variable] of variables) {
      const copy = variable.clone()
      this.shadows.set(name, tf.variable(copy, false))
      copy.dispose()
    }
    this.stateShadow = detector.getWeights('state')
  }

  decayAt(step: number): number {
    return Math.min(this.maxDecay, (1 + step) / (10 + step))
  }

  /**
   * Folds the current model in, after optimizer step `step` (1-based). A frozen weight is copied, not
   * averaged: averaging a constant would still drift it by rounding, and frozen must mean unchanged.
   */
  update(step: number): void {
    const d = this.decayAt(step)
    tf.tidy(() => {
      for (const [name, variable] of this.variables) {
        const shadow = this.shadows.get(name)!
        shadow.assign(
          variable.trainable ? tf.add(tf.mul(shadow, d), tf.mul(variable, 1 - d)) : tf.clone(variable)
        )
      }
    })
    for (const [name, current] of this.detector.getWeights('state')) {
      const shadow = this.stateShadow.get(name)!.values
      // a frozen batch norm's statistics do not move: copying keeps them bit-identical
      if (current.values.every((v, i) => v === shadow[i])) continue
      for (let i = 0; i < shadow.length; i++) shadow[i] = d * shadow[i] + (1 - d) * current.values[i]
    }
  }

  /** Learned weights and batch-norm statistics of the average. */
  weights(): NamedWeights {
    const out: NamedWeights = new Map()
    for (const [name, shadow] of this.shadows)
      out.set(name, { shape: [...shadow.shape], values: shadow.dataSync() as Float32Array })
    for (const [name, state] of this.stateShadow)
      out.set(name, { shape: [...state.shape], values: Float32Array.from(state.values) })
    return out
  }

  /** Replaces the average (resume: the saved model holds it). */
  load(weights: NamedWeights): void {
    for (const [name, shadow] of this.shadows) {
      const weight = weights.get(name)
      if (weight) tf.tidy(() => shadow.assign(tf.tensor(weight.values, shadow.shape, 'float32')))
    }
    for (const [name, state] of this.stateShadow) {
      const weight = weights.get(name)
      if (weight) state.values = Float32Array.from(weight.values)
    }
  }

  /** Runs `work` with the average in the detector, then puts the training model back. */
  async swapIn<T>(work: (training: NamedWeights) => Promise<T>): Promise<T> {
    const training = this.detector.getWeights()
    // tidy: setWeights makes a temporary tensor per weight that assign() would otherwise keep alive
    tf.tidy(() => this.detector.setWeights(this.weights()))
    try {
      return await work(training)
    } finally {
      tf.tidy(() => this.detector.setWeights(training))
    }
  }

  dispose(): void {
    for (const shadow of this.shadows.values()) shadow.dispose()
    this.shadows.clear()
  }
}
