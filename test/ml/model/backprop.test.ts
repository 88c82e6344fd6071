import { beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs-core'
import { initBackend } from '../../../main/ml/backend/ladder'
import { createDetector, type Detector } from '../../../main/ml/detect'
import { variableGrads } from '../../../main/ml/model/backprop'
import { TEST_DETECTOR } from '../detect/fixtures'
import { syntheticBatch, type SyntheticBatch } from '../detect/synthetic'

let detector: Detector
let batch: SyntheticBatch

beforeAll(async () => {
  await initBackend('wasm')
  detector = createDetector(TEST_DETECTOR)
  batch = syntheticBatch(4, 64, 2)
})

const loss = () => detector.loss(batch.images, batch.targets).total

describe('memory-releasing backprop', () => {
  it('computes the same gradients as tf.variableGrads and leaves no tensors behind', () => {
    const before = tf.memory().numTensors
    const ours = variableGrads(loss, detector.trainableVariables())
    const theirs = tf.variableGrads(loss, detector.trainableVariables())
    expect(Object.keys(ours.grads).sort()).toEqual(Object.keys(theirs.grads).sort())
    expect(ours.value.dataSync()[0]).toBe(theirs.value.dataSync()[0])
    for (const [name, grad] of Object.entries(theirs.grads)) {
      expect(tf.tidy(() => tf.max(tf.abs(tf.sub(ours.grads[name], grad))).dataSync()[0])).toBeLessThan(1e-6)
    }
    tf.dispose([ours.value, theirs.value, ...Object.values(ours.grads), ...Object.values(theirs.grads)])
    expect(tf.memory().numTensors).toBe(before)
  })

  it('needs much less memory at its peak than tf.variableGrads', async () => {
    const peak = async (run: () => tf.TensorContainer) =>
      (
        await tf.profile(() => {
          tf.dispose(run())
        })
      ).peakBytes
    const ours = await peak(() => {
      const { value, grads } = variableGrads(loss, detector.trainableVariables())
      return [value, ...Object.values(grads)]
    })
    const theirs = await peak(() => {
      const { value, grads } = tf.variableGrads(loss, detector.trainableVariables())
      return [value, ...Object.values(grads)]
    })
    expect(ours).toBeLessThan(theirs * 0.6)
  })
})
