import { beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs-core'
import '@tensorflow/tfjs-backend-cpu'
import {
  focalLossSum,
  giouLoss,
  giouLossLtrb,
  huberLossSum,
  maskedSoftmaxCrossEntropy
} from '../../../main/ml/detect/losses'

beforeAll(async () => {
  await tf.setBackend('cpu')
})

const values = (t: tf.Tensor) => Array.from(t.dataSync())

describe('losses', () => {
  it('GIoU loss: 0 for a perfect box, above 1 for disjoint boxes, by hand for a partial overlap', () => {
    const predicted = tf.tensor2d([
      [0, 0, 2, 2],
      [0, 0, 1, 1],
      [0, 0, 2, 2]
    ])
    const target = tf.tensor2d([
      [0, 0, 2, 2],
      [2, 0, 3, 1],
      [1, 1, 3, 3]
    ])
    // disjoint: IoU 0, hull 3, union 2 -> 1 + 1/3; overlap: IoU 1/7, hull 9, union 7 -> 1 - (1/7 - 2/9)
    const expected = [0, 4 / 3, 68 / 63]
    values(giouLoss(predicted, target)).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 5))
  })

  it('GIoU on FCOS side distances equals GIoU on the boxes they describe', () => {
    // point (1.5, 1.5): [0,0,2,2] is (l,t,r,b) = (1.5,1.5,0.5,0.5), [1,1,3,3] is (0.5,0.5,1.5,1.5)
    const loss = giouLossLtrb(tf.tensor2d([[1.5, 1.5, 0.5, 0.5]]), tf.tensor2d([[0.5, 0.5, 1.5, 1.5]]))
    expect(values(loss)[0]).toBeCloseTo(68 / 63, 5)
  })

  it('focal loss down-weights easy examples: alpha_t (1 - p_t)^gamma BCE, by hand at p = 0.5', () => {
    const logits = tf.tensor1d([0, 0, 0])
    const targets = tf.tensor1d([1, 0, 0])
    const weights = tf.tensor1d([1, 1, 0]) // the third is ignored
    const loss = focalLossSum(logits, targets, weights, 0.25, 2).dataSync()[0]
    expect(loss).toBeCloseTo(0.25 * 0.25 * Math.LN2 + 0.75 * 0.25 * Math.LN2, 5)
    // a confident correct prediction costs far less than an unsure one
    const easy = focalLossSum(tf.tensor1d([4]), tf.tensor1d([1]), tf.tensor1d([1]), 0.25, 2).dataSync()[0]
    expect(easy).toBeLessThan(0.001 * loss)
  })

  it('smooth-L1 is quadratic inside delta and linear outside', () => {
    const loss = huberLossSum(
      tf.tensor1d([0.05, 0.3]),
      tf.tensor1d([0, 0]),
      tf.tensor1d([1, 1]),
      0.1
    ).dataSync()[0]
    expect(loss).toBeCloseTo(0.5 * 0.05 ** 2 + (0.5 * 0.1 ** 2 + 0.1 * 0.2), 6)
  })

  it('study cross-entropy averages only over studies with a known class', () => {
    const logits = tf.tensor2d([
      [0, 0, 0, 0],
      [5, 0, 0, 0]
    ])
    const oneHot = tf.tensor2d([
      [1, 0, 0, 0],
      [0, 1, 0, 0]
    ])
    expect(maskedSoftmaxCrossEntropy(logits, oneHot, tf.tensor1d([1, 0])).dataSync()[0]).toBeCloseTo(
      Math.log(4),
      5
    )
    expect(maskedSoftmaxCrossEntropy(logits, oneHot, tf.tensor1d([0, 0])).dataSync()[0]).toBe(0)
  })
})
