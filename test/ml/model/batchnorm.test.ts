import { beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs-core'
import '@tensorflow/tfjs-backend-cpu'
import { BatchNorm, Conv2d, ConvBn } from '../../../main/ml/model/layers'

beforeAll(async () => {
  await tf.setBackend('cpu')
})

function values(t: tf.Tensor): number[] {
  return Array.from(t.dataSync())
}

/** Two channels: channel 0 has mean 3 and variance 4, channel 1 mean -1 and variance 1. */
const batch = tf.tensor4d([1, -2, 5, 0, 1, -2, 5, 0], [2, 2, 1, 2])

describe('batch norm', () => {
  it('in training mode normalises with batch statistics and moves the running ones by (1 - momentum)', () => {
    const bn = new BatchNorm(2, { momentum: 0.9, epsilon: 0 })
    const y = bn.forward(batch, { training: true })
    expect(values(y).map((v) => Math.round(v * 1e4) / 1e4)).toEqual([-1, -1, 1, 1, -1, -1, 1, 1])
    // running = 0.9 * (0, 1) + 0.1 * batch stats (3, -1) and (4, 1)
    expect(values(bn.movingMean)).toEqual([0.1 * 3, 0.1 * -1].map((v) => Math.fround(v)))
    expect(values(bn.movingVariance)[0]).toBeCloseTo(0.9 + 0.4, 5)
    expect(values(bn.movingVariance)[1]).toBeCloseTo(0.9 + 0.1, 5)
  })

  it('with frozen statistics keeps the running stats fixed and normalises like inference, even in training mode', () => {
    const bn = new BatchNorm(2, { epsilon: 0 })
    bn.movingMean.assign(tf.tensor1d([1, 2]))
    bn.movingVariance.assign(tf.tensor1d([4, 9]))
    bn.statsFrozen = true
    const before = [values(bn.movingMean), values(bn.movingVariance)]
    const training = bn.forward(batch, { training: true })
    expect([values(bn.movingMean), values(bn.movingVariance)]).toEqual(before)
    expect(values(training)).toEqual(values(bn.forward(batch, { training: false })))
    expect(values(training).slice(0, 2)).toEqual([0, (-2 - 2) / 3].map((v) => Math.fround(v)))
  })

  it('never updates running stats at inference', () => {
    const bn = new BatchNorm(2)
    bn.forward(batch, { training: false })
    expect(values(bn.movingMean)).toEqual([0, 0])
  })

  it('folds into the preceding conv at inference with the same output', () => {
    const block = new ConvBn(new Conv2d(2, 3, 3), 'swish')
    block.bn.movingMean.assign(tf.tensor1d([0.5, -1, 2]))
    block.bn.movingVariance.assign(tf.tensor1d([2, 0.5, 1]))
    block.bn.gamma.assign(tf.tensor1d([1.5, -0.5, 1]))
    const folded = block.forward(batch, { training: false })
    const plain = tf.tidy(() => {
      const z = block.bn.forward(block.conv.forward(batch), { training: false })
      return tf.mul(z, tf.sigmoid(z))
    })
    expect(tf.max(tf.abs(tf.sub(folded, plain))).dataSync()[0]).toBeLessThan(1e-5)
  })
})
