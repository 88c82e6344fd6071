import { beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs-core'
import '@tensorflow/tfjs-backend-cpu'
import '../../../main/ml/model/gradients'
import type { Activation } from '../../../main/ml/model/layers'
import { batchNormTraining, swish } from '../../../main/ml/model/ops'

beforeAll(async () => {
  await tf.setBackend('cpu')
})

/** The textbook composition of tfjs ops that the fused op replaces. */
function reference(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, activation: Activation): tf.Tensor {
  const { mean, variance } = tf.moments(x, [0, 1, 2])
  const z = tf.batchNorm4d(x, mean as tf.Tensor1D, variance as tf.Tensor1D, beta, gamma, 1e-3)
  if (activation === 'swish') return tf.mul(z, tf.sigmoid(z))
  if (activation === 'relu6') return tf.relu6(z)
  if (activation === 'relu') return tf.relu(z)
  if (activation === 'sigmoid') return tf.sigmoid(z)
  return z
}

function maxDifference(a: tf.Tensor, b: tf.Tensor): number {
  return tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]
}

describe('fused training ops', () => {
  const x = tf.randomNormal([3, 5, 4, 6], 2, 3, 'float32', 1) as tf.Tensor4D
  const gamma = tf.randomNormal([6], 1, 0.5, 'float32', 2) as tf.Tensor1D
  const beta = tf.randomNormal([6], 0, 1, 'float32', 3) as tf.Tensor1D
  // a fixed random weighting of the output makes every gradient component distinct
  const weights = tf.randomNormal([3, 5, 4, 6], 0, 1, 'float32', 4)

  it.each(['linear', 'relu', 'relu6', 'sigmoid', 'swish'] as const)(
    'batch norm + %s matches the composed tfjs ops in value, batch statistics and gradients',
    (activation) => {
      const fused = batchNormTraining(x, gamma, beta, 1e-3, activation)
      expect(maxDifference(fused.y, reference(x, gamma, beta, activation))).toBeLessThan(1e-4)
      const { mean, variance } = tf.moments(x, [0, 1, 2])
      expect(maxDifference(fused.mean, mean)).toBeLessThan(1e-5)
      expect(maxDifference(fused.variance, variance)).toBeLessThan(1e-4)

      const loss =
        (f: (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.Tensor) =>
        (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.mul(f(a, g, b), weights))
      const ours = tf.grads(loss((a, g, b) => batchNormTraining(a as tf.Tensor4D, g, b, 1e-3, activation).y))(
        [x, gamma, beta]
      )
      const theirs = tf.grads(
        loss((a, g, b) => reference(a as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D, activation))
      )([x, gamma, beta])
      ours.forEach((grad, i) => {
        const scale = tf.max(tf.abs(theirs[i])).dataSync()[0]
        expect(maxDifference(grad, theirs[i]) / scale).toBeLessThan(1e-4)
      })
    }
  )

  it('swish matches x * sigmoid(x) in value and gradient', () => {
    const f = (a: tf.Tensor) => tf.sum(tf.mul(swish(a), weights))
    const g = (a: tf.Tensor) => tf.sum(tf.mul(tf.mul(a, tf.sigmoid(a)), weights))
    expect(maxDifference(swish(x), tf.mul(x, tf.sigmoid(x)))).toBeLessThan(1e-5)
    expect(maxDifference(tf.grad(f)(x), tf.grad(g)(x))).toBeLessThan(1e-5)
  })
})
