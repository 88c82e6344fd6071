import { beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs-core'
import { scoreClass } from '../../../main/core/metric/voc-ap'
import { createDetector, type DetectorConfigInput, type ImagePrediction } from '../../../main/ml/detect'
import { TEST_DETECTOR, useWasmBackend } from './fixtures'
import { syntheticBatch, type SyntheticBatch } from './synthetic'

let data: SyntheticBatch

beforeAll(async () => {
  await useWasmBackend()
  data = syntheticBatch(8, 64)
})

/** Opacity AP at IoU 0.5 (the competition's VOC AP) of predictions against the synthetic boxes. */
function opacityAp(predictions: ImagePrediction[]): number {
  const truth = new Map(
    data.boxes.map((boxes, i) => [String(i), boxes.map(([x1, y1, x2, y2]) => ({ x1, y1, x2, y2 }))])
  )
  const detections = predictions.flatMap((p, i) =>
    p.boxes.map(([x1, y1, x2, y2], k) => ({ id: String(i), x1, y1, x2, y2, confidence: p.scores[k] }))
  )
  return scoreClass(truth, detections).ap ?? 0
}

function train(config: DetectorConfigInput, steps: number) {
  const detector = createDetector(config)
  const optimizer = tf.train.adam(1e-2)
  const totals: number[] = []
  for (let i = 0; i < steps; i++) totals.push(detector.trainStep(optimizer, data.images, data.targets).total)
  optimizer.dispose()
  return { detector, totals }
}

describe('training on synthetic radiographs', () => {
  it('efficientdet: the loss falls within 30 Adam steps and the model overfits 8 images to AP@0.5 >= 0.9', async () => {
    const { detector, totals } = train(TEST_DETECTOR, 60)
    expect(totals[29]).toBeLessThan(totals[0] * 0.2)
    expect(totals[59]).toBeLessThan(totals[29])

    const predictions = await detector.predict(data.images)
    expect(opacityAp(predictions)).toBeGreaterThanOrEqual(0.9)
    // image-level outputs learn too: `none` for the box-free images, the study class per image
    predictions.forEach((p, i) => {
      expect(p.noneScore > 0.5).toBe(data.boxes[i].length === 0)
      expect(p.studyProbs.indexOf(Math.max(...p.studyProbs))).toBe(data.targets.studyClass[i])
    })
    // flip TTA un-mirrors the second view before fusing, so the boxes stay where they are
    expect(
      opacityAp(await detector.predict(data.images, { flipTta: true, merge: 'wbf' }))
    ).toBeGreaterThanOrEqual(0.9)
    detector.dispose()
  })

  it('fcos: the loss falls within 30 Adam steps and the model overfits 8 images to AP@0.5 >= 0.9', async () => {
    const { detector, totals } = train({ ...TEST_DETECTOR, head: 'fcos' }, 45)
    expect(totals[29]).toBeLessThan(totals[0] * 0.3)
    expect(opacityAp(await detector.predict(data.images))).toBeGreaterThanOrEqual(0.9)
    detector.dispose()
  })

  it.each([
    ['mobilenetv2', { backbone: 'mobilenetv2', widthMultiplier: 0.35 }],
    ['resnet18', { backbone: 'resnet18', widthMultiplier: 0.125 }]
  ] as const)('%s backbone: the loss falls within 15 Adam steps', (_name, backbone) => {
    const { detector, totals } = train({ ...TEST_DETECTOR, ...backbone }, 15)
    expect(totals[14]).toBeLessThan(totals[0] * 0.5)
    detector.dispose()
  })
})
