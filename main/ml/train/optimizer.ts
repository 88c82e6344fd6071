// AdamW, Adam and SGD over tf variables, written here (not tfjs-layers' optimizers) so that the state
// is ours to save, restore and inspect, and so that each parameter keeps its own step count: a
// backbone unfrozen at epoch 10 starts its bias correction at 1, as PyTorch's per-parameter state does.
import * as tf from '@tensorflow/tfjs-core'

import type { OptimizerOptions } from './optimizer-options'

export { OPTIMIZER_NAMES, type OptimizerName } from '../../../common/training'
export { OPTIMIZER_DEFAULTS, type OptimizerOptions } from './optimizer-options'

/** A named parameter and its gradient for this step. */
export interface ParamGrad {
  name: string
  variable: tf.Variable
  grad: tf.Tensor
}

/** Everything needed to continue exactly where a run stopped. */
export interface OptimizerState {
  options: OptimizerOptions
  params: Record<string, { step: number; shape: number[]; slots: Record<string, Float32Array> }>
}

interface ParamSlots {
  step: number
  slots: Record<string, tf.Variable>
}

export class Optimizer {
  private readonly state = new Map<string, ParamSlots>()

  constructor(readonly options: OptimizerOptions) {}

  private slotNames(): string[] {
    return this.options.name === 'sgd' ? (this.options.momentum > 0 ? ['momentum'] : []) : ['m', 'v']
  }

  private slotsFor(name: string, variable: tf.Variable): ParamSlots {
    let entry = this.state.get(name)
    if (!entry) {
      const slots: Record<string, tf.Variable> = {}
      for (const slot of this.slotNames()) {
        const zeros = tf.zerosLike(variable)
        slots[slot] = tf.variable(zeros, false)
        zeros.dispose()
      }
      entry = { step: 0, slots }
      this.state.set(name, entry)
    }
    return entry
  }

  /** One update of every given parameter with learning rate `lr`. Gradients are not disposed. */
  apply(params: readonly ParamGrad[], lr: number): void {
    const { name: kind, weightDecay, beta1, beta2, epsilon, momentum } = this.options
    for (const { name, variable, grad } of params) {
      const entry = this.slotsFor(name, variable)
      entry.step += 1
      const t = entry.step
      const decay = variable.shape.length >= 2 ? weightDecay : 0
      tf.tidy(() => {
        if (kind === 'sgd') {
          const g = decay > 0 ? tf.add(grad, tf.mul(variable, decay)) : grad
          let update: tf.Tensor = g
          if (momentum > 0) {
            const buf = entry.slots.momentum
            // PyTorch initialises the buffer with the first gradient
            const next = t === 1 ? g : tf.add(tf.mul(buf, momentum), g)
            buf.assign(next)
            update = next
          }
          variable.assign(tf.sub(variable, tf.mul(update, lr)))
          return
        }
        const g = kind === 'adam' && decay > 0 ? tf.add(grad, tf.mul(variable, decay)) : grad
        const { m, v } = entry.slots
        const mNext = tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1))
        const vNext = tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2))
        m.assign(mNext)
        v.assign(vNext)
        const stepSize = lr / (1 - beta1 ** t)
        const denom = tf.add(tf.sqrt(tf.div(vNext, 1 - beta2 ** t)), epsilon)
        let base: tf.Tensor = variable
        if (kind === 'adamw' && decay > 0) base = tf.mul(variable, 1 - lr * decay)
        variable.assign(tf.sub(base, tf.mul(tf.div(mNext, denom), stepSize)))
      })
    }
  }

  /** Per-parameter steps taken so far (0 for parameters never updated). */
  stepOf(name: string): number {
    return this.state.get(name)?.step ?? 0
  }

  getState(): OptimizerState {
    const params: OptimizerState['params'] = {}
    for (const [name, entry] of this.state) {
      const slots: Record<string, Float32Array> = {}
      let shape: number[] = []
      for (const [slot, variable] of Object.entries(entry.slots)) {
        slots[slot] = variable.dataSync() as Float32Array
        shape = variable.shape
      }
      params[name] = { step: entry.step, shape, slots }
    }
    return { options: { ...this.options }, params }
  }

  /** Restores state saved by getState; `variables` maps parameter names to the model's variables. */
  setState(saved: OptimizerState, variables: ReadonlyMap<string, tf.Variable>): void {
    if (saved.options.name !== this.options.name) {
      throw new Error(`optimizer state is for ${saved.options.name}, this run uses ${this.options.name}`)
    }
    this.dispose()
    for (const [name, param] of Object.entries(saved.params)) {
      const variable = variables.get(name)
      if (!variable) continue // a parameter the model no longer has
      const slots: Record<string, tf.Variable> = {}
      for (const slot of this.slotNames()) {
        const values = param.slots[slot]
        const initial = values ? tf.tensor(values, variable.shape, 'float32') : tf.zerosLike(variable)
        slots[slot] = tf.variable(initial, false)
        initial.dispose()
      }
      this.state.set(name, { step: param.step, slots })
    }
  }

  dispose(): void {
    for (const entry of this.state.values())
      for (const variable of Object.values(entry.slots)) variable.dispose()
    this.state.clear()
  }
}

/** Scales gradients so that their global L2 norm is at most `maxNorm`; returns the norm before clipping. */
export function clipByGlobalNorm(
  grads: readonly ParamGrad[],
  maxNorm: number
): { grads: ParamGrad[]; norm: number } {
  if (grads.length === 0) return { grads: [], norm: 0 }
  const norm = tf.tidy(() => tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g.grad))))).dataSync()[0])
  if (!(maxNorm > 0) || !Number.isFinite(norm) || norm <= maxNorm) return { grads: [...grads], norm }
  const scale = maxNorm / (norm + 1e-6)
  return { grads: grads.map((g) => ({ ...g, grad: tf.mul(g.grad, scale) })), norm }
}
