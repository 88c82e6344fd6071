// Issue 4's learning checks on the demo data itself (not synthetic rectangles): the real pipeline
// (DICOM → VOI → letterbox → cached model input → boxes in model pixels) feeds each head, whose loss
// must fall, and a small detector must overfit 8 boxed demo images to opacity AP@0.5 ≥ 0.9.
import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { scoreClass } from '../../../main/core/metric/voc-ap'
import { inProcessDisplaySource } from '../../../main/ml/data/display-source'
import { BatchLoader, type Batch } from '../../../main/ml/data/loader'
import { prepareTrainingData } from '../../../main/ml/data/prepare'
import { createDetector, type DetectorConfigInput, type ImagePrediction } from '../../../main/ml/detect'
import { batchTargets } from '../../../main/ml/train/step'
import { demoDataset, tempDir } from '../helpers'
import { TEST_DETECTOR, useWasmBackend } from './fixtures'

const SIZE = 128
let batch: Batch
let images: tf.Tensor4D

beforeAll(async () => {
  await useWasmBackend()
  const dir = await demoDataset({ studies: 16, testStudies: 1, seed: 11 })
  const data = await prepareTrainingData(dir, {
    workspace: await tempDir('overfit-ws'),
    imageSize: SIZE,
    policy: 'keep-boxed',
    valFraction: 0,
    seed: 1,
    source: inProcessDisplaySource
  })
  const boxed = data.train.filter((s) => s.boxes.length > 0).slice(0, 8)
  expect(boxed).toHaveLength(8)
  batch = await new BatchLoader(boxed, data.cache, {
    batchSize: 8,
    seed: 1,
    augment: null,
    shuffle: false
  }).build(boxed, 0)
  images = tf.tensor4d(batch.images, [8, SIZE, SIZE, 1])
}, 120_000)

/** Opacity AP at IoU 0.5 (the competition's VOC AP) against the demo boxes in model pixels. */
function opacityAp(predictions: ImagePrediction[]): number {
  const truth = new Map(
    batch.boxes.map((boxes, i) => [String(i), boxes.map(([x1, y1, x2, y2]) => ({ x1, y1, x2, y2 }))])
  )
  const detections = predictions.flatMap((p, i) =>
    p.boxes.map(([x1, y1, x2, y2], k) => ({ id: String(i), x1, y1, x2, y2, confidence: p.scores[k] }))
  )
  return scoreClass(truth, detections).ap ?? 0
}

// demo opacities are ~10-20 px at 128 px: anchors of 2 strides instead of EfficientDet's 4
const DEMO_DETECTOR: DetectorConfigInput = { ...TEST_DETECTOR, imageSize: SIZE, maxLevel: 6, anchorScale: 2 }

function fit(config: DetectorConfigInput, steps: number) {
  const detector = createDetector(config)
  const optimizer = tf.train.adam(1e-2)
  const targets = batchTargets(batch)
  const totals: number[] = []
  for (let i = 0; i < steps; i++) totals.push(detector.trainStep(optimizer, images, targets).total)
  optimizer.dispose()
  return { detector, totals }
}

describe('learning on the demo data', () => {
  it('efficientdet: the loss falls and 8 demo images are overfitted to opacity AP@0.5 >= 0.9', async () => {
    const { detector, totals } = fit(DEMO_DETECTOR, 80)
    expect(totals[79]).toBeLessThan(totals[0] * 0.3)
    expect(opacityAp(await detector.predict(images))).toBeGreaterThanOrEqual(0.9)
    detector.dispose()
  }, 300_000)

  it('fcos: the loss falls on the demo images', () => {
    const { detector, totals } = fit({ ...DEMO_DETECTOR, head: 'fcos' }, 30)
    expect(totals[29]).toBeLessThan(totals[0] * 0.5)
    detector.dispose()
  }, 300_000)
})
