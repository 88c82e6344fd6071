import * as tf from '@tensorflow/tfjs-core'
import '@tensorflow/tfjs-backend-cpu'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  Optimizer,
  OPTIMIZER_DEFAULTS,
  clipByGlobalNorm,
  type OptimizerOptions
} from '../../../main/ml/train/optimizer'

beforeAll(async () => {
  await tf.setBackend('cpu')
})

const adamw: OptimizerOptions = { ...OPTIMIZER_DEFAULTS.adamw, weightDecay: 0.1 }

function step(
  optimizer: Optimizer,
  params: Record<string, tf.Variable>,
  grads: Record<string, number[]>,
  lr: number
): void {
  const list = Object.entries(params).map(([name, variable]) => ({
    name,
    variable,
    grad: tf.tensor(grads[name], variable.shape)
  }))
  optimizer.apply(list, lr)
  tf.dispose(list.map((g) => g.grad))
}

describe('AdamW', () => {
  it('matches a hand computation over three steps, with decay on kernels but not on biases', () => {
    const kernel = tf.variable(tf.tensor2d([[0.5, -1.5]]))
    const bias = tf.variable(tf.tensor1d([2]))
    const optimizer = new Optimizer(adamw)
    const gradsPerStep = [
      { kernel: [0.3, -0.2], bias: [1] },
      { kernel: [0.1, 0.4], bias: [-0.5] },
      { kernel: [-0.7, 0.05], bias: [0.25] }
    ]
    const lrs = [1e-2, 5e-3, 2e-3]
    // PyTorch's AdamW written out per scalar: p *= 1 - lr*wd; then the bias-corrected Adam step
    let k0 = 0.5
    let k1 = -1.5
    let b = 2
    const state = { k0: { m: 0, v: 0 }, k1: { m: 0, v: 0 }, b: { m: 0, v: 0 } }
    const adam = (p: number, g: number, s: { m: number; v: number }, t: number, lr: number, wd: number) => {
      p *= 1 - lr * wd
      s.m = 0.9 * s.m + 0.1 * g
      s.v = 0.999 * s.v + 0.001 * g * g
      return p - (lr * (s.m / (1 - 0.9 ** t))) / (Math.sqrt(s.v / (1 - 0.999 ** t)) + 1e-8)
    }
    gradsPerStep.forEach((g, i) => {
      step(optimizer, { kernel, bias }, g, lrs[i])
      k0 = adam(k0, g.kernel[0], state.k0, i + 1, lrs[i], 0.1)
      k1 = adam(k1, g.kernel[1], state.k1, i + 1, lrs[i], 0.1)
      b = adam(b, g.bias[0], state.b, i + 1, lrs[i], 0)
    })
    const k = kernel.dataSync()
    expect(k[0]).toBeCloseTo(k0, 6)
    expect(k[1]).toBeCloseTo(k1, 6)
    expect(bias.dataSync()[0]).toBeCloseTo(b, 6)
  })

  it('keeps a step count per parameter, so a late-unfrozen weight starts its bias correction at 1', () => {
    const early = tf.variable(tf.tensor2d([[1]]))
    const late = tf.variable(tf.tensor2d([[1]]))
    const optimizer = new Optimizer({ ...adamw, weightDecay: 0 })
    step(optimizer, { early }, { early: [1] }, 0.1)
    step(optimizer, { early }, { early: [1] }, 0.1)
    step(optimizer, { early, late }, { early: [1], late: [1] }, 0.1)
    expect(optimizer.stepOf('early')).toBe(3)
    expect(optimizer.stepOf('late')).toBe(1)
    // first bias-corrected Adam step moves by exactly lr (m̂/sqrt(v̂) = g/|g|)
    expect(late.dataSync()[0]).toBeCloseTo(1 - 0.1, 5)
  })

  it('continues identically after its state is saved and restored into new variables', () => {
    const run = (restoreAfter: number | null) => {
      let w = tf.variable(
        tf.tensor2d([
          [0.2, -0.3],
          [0.4, 0.1]
        ])
      )
      let optimizer = new Optimizer(adamw)
      const grads = [
        [0.1, 0.2, -0.3, 0.4],
        [0.5, -0.1, 0.2, 0.0],
        [-0.2, 0.3, 0.1, -0.4],
        [0.05, 0.05, -0.05, 0.3]
      ]
      grads.forEach((g, i) => {
        if (i === restoreAfter) {
          const saved = optimizer.getState()
          const values = w.dataSync().slice()
          optimizer.dispose()
          w = tf.variable(tf.tensor2d(values, [2, 2]))
          optimizer = new Optimizer(adamw)
          optimizer.setState(saved, new Map([['w', w]]))
        }
        step(optimizer, { w }, { w: g }, 0.01)
      })
      return Array.from(w.dataSync())
    }
    const straight = run(null)
    const resumed = run(2)
    resumed.forEach((v, i) => expect(v).toBe(straight[i]))
  })
})

describe('Adam and SGD', () => {
  it('Adam adds L2 weight decay to the gradient', () => {
    const w = tf.variable(tf.tensor2d([[1]]))
    const optimizer = new Optimizer({ ...OPTIMIZER_DEFAULTS.adam, weightDecay: 0.5 })
    step(optimizer, { w }, { w: [-0.5] }, 0.1) // g + wd*w = 0: the first step has m = 0
    expect(w.dataSync()[0]).toBeCloseTo(1, 6)
  })

  it('SGD with momentum follows buf = mu * buf + g; p -= lr * buf', () => {
    const w = tf.variable(tf.tensor2d([[1]]))
    const optimizer = new Optimizer({ ...OPTIMIZER_DEFAULTS.sgd, weightDecay: 0, momentum: 0.9 })
    step(optimizer, { w }, { w: [1] }, 0.1) // buf 1 -> 0.9
    step(optimizer, { w }, { w: [1] }, 0.1) // buf 1.9 -> 0.71
    expect(w.dataSync()[0]).toBeCloseTo(0.71, 6)
  })
})

describe('clipByGlobalNorm', () => {
  it('scales all gradients together to the maximum norm and reports the norm before clipping', () => {
    const a = tf.variable(tf.tensor1d([0, 0]))
    const grads = [
      { name: 'a', variable: a, grad: tf.tensor1d([3, 0]) },
      { name: 'b', variable: a, grad: tf.tensor1d([0, 4]) }
    ]
    const { grads: clipped, norm } = clipByGlobalNorm(grads, 1)
    expect(norm).toBeCloseTo(5, 5)
    expect(Array.from(clipped[0].grad.dataSync())[0]).toBeCloseTo(0.6, 4)
    expect(Array.from(clipped[1].grad.dataSync())[1]).toBeCloseTo(0.8, 4)
    const untouched = clipByGlobalNorm(grads, 10)
    expect(untouched.grads[0].grad).toBe(grads[0].grad)
  })
})
