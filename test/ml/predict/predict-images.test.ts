import * as tf from '@tensorflow/tfjs-core'
import '@tensorflow/tfjs-backend-cpu'
import { beforeAll, describe, expect, it } from 'vitest'
import { BatchLoader } from '../../../main/ml/data/loader'
import type { ImageSample } from '../../../main/ml/data/samples'
import { TensorCache } from '../../../main/ml/data/tensor-cache'
import type { Detector, ImagePrediction } from '../../../main/ml/detect/detector'
import { DEFAULT_PREDICTION, predictSamples } from '../../../main/ml/predict/predict-images'
import { studyPredictions, submissionRows } from '../../../main/ml/predict/study-level'
import { tempDir } from '../helpers'

const SIZE = 128

/** A stand-in for the model: the same box (model-input pixels) for every image, to follow its mapping. */
function fixedDetector(prediction: ImagePrediction): Detector {
  return {
    predict: async (images: tf.Tensor4D) => Array.from({ length: images.shape[0] }, () => prediction)
  } as unknown as Detector
}

function sample(imageId: string, studyId: string, width: number, height: number): ImageSample {
  return {
    imageId,
    studyId,
    relPath: `${imageId}.dcm`,
    absPath: `/nowhere/${imageId}.dcm`,
    width,
    height,
    fileSize: 1,
    mtimeMs: 1,
    boxes: [],
    studyClass: null
  }
}

let cache: TensorCache

beforeAll(async () => {
  await tf.setBackend('cpu')
  // pixels never matter to the stand-in model; a blank source keeps the test about geometry
  cache = new TensorCache(await tempDir('cache'), SIZE, {
    render: async () => ({ width: 4, height: 4, pixels: new Uint8Array(16) })
  })
})

describe('predictSamples', () => {
  it('maps boxes from the letterboxed input back to original DICOM pixels, per image size', async () => {
    const detector = fixedDetector({
      boxes: [
        [32, 48, 64, 80],
        [0, 0, 10, 10]
      ],
      scores: [0.9, 0.4],
      labels: [0, 0],
      studyProbs: [0.1, 0.6, 0.2, 0.1],
      noneScore: 0.25
    })
    const samples = [sample('wide', 's1', 400, 200), sample('tall', 's1', 200, 400)]
    const loader = new BatchLoader(samples, cache, { batchSize: 2, seed: 0, augment: null, shuffle: false })
    const [wide, tall] = await predictSamples(detector, loader, { ...DEFAULT_PREDICTION, noneFrom: 'head' })
    // wide: scale 0.32, image rows start at y = 32 in the input
    expect(wide.boxes[0]).toEqual({ x1: 100, y1: 50, x2: 200, y2: 150, confidence: 0.9 })
    // [0,0,10,10] lies in the top padding: clipped to a zero-height box and dropped
    expect(wide.boxes).toHaveLength(1)
    // tall: columns start at x = 32 in the input
    expect(tall.boxes[0].x1).toBeCloseTo(0, 9)
    expect(tall.boxes[0].y1).toBeCloseTo(150, 9)
    expect(tall.boxes[0].x2).toBeCloseTo(100, 9)
    expect(tall.boxes[0].y2).toBeCloseTo(250, 9)
    // [0,0,10,10] lies in the left padding of the tall image: dropped as well
    expect(tall.boxes).toHaveLength(1)
    expect(wide.none).toBe(0.25)
    expect(wide.studyProbs).toEqual({ negative: 0.1, typical: 0.6, indeterminate: 0.2, atypical: 0.1 })
  })

  it('derives none and study probabilities from the boxes, the heads, or their mean (the default)', async () => {
    const detector = fixedDetector({
      boxes: [[32, 48, 64, 80]],
      scores: [0.8],
      labels: [0],
      studyProbs: [0.1, 0.2, 0.3, 0.4],
      noneScore: 0.9
    })
    const loader = new BatchLoader([sample('a', 's', 400, 200)], cache, {
      batchSize: 1,
      seed: 0,
      augment: null,
      shuffle: false
    })
    expect(
      (await predictSamples(detector, loader, { ...DEFAULT_PREDICTION, noneFrom: 'boxes' }))[0].none
    ).toBeCloseTo(0.2, 9)
    const images = await predictSamples(detector, loader, DEFAULT_PREDICTION)
    expect(images[0].none).toBeCloseTo((0.2 + 0.9) / 2, 9)
    const priors = { negative: 0.4, typical: 0.3, indeterminate: 0.2, atypical: 0.1 }
    const [boxes] = studyPredictions(images, 'box-majority', priors)
    expect(boxes.probabilities.negative).toBeCloseTo(0.2, 9)
    expect(boxes.probabilities.typical).toBeCloseTo(0.8 * 0.5, 9)
    expect(boxes.probabilities.atypical).toBeCloseTo(0.8 / 6, 9)
    const [head] = studyPredictions(images, 'study-head', priors)
    expect(head.probabilities.atypical).toBeCloseTo(0.4, 6)
    const [combined] = studyPredictions(images, 'combined', priors)
    expect(combined.probabilities.negative).toBeCloseTo((0.2 + 0.1) / 2, 6)
    expect(combined.probabilities.atypical).toBeCloseTo((0.8 / 6 + 0.4) / 2, 6)
  })
})

describe('submissionRows', () => {
  it('gives study rows all four classes and image rows their boxes plus none', () => {
    const images = [
      {
        imageId: 'i1',
        studyId: 's1',
        path: 'i1.dcm',
        width: 10,
        height: 10,
        boxes: [{ x1: 1, y1: 2, x2: 3, y2: 4, confidence: 0.7 }],
        none: 0.1,
        studyProbs: { negative: 0.1, typical: 0.7, indeterminate: 0.1, atypical: 0.1 }
      },
      {
        imageId: 'i2',
        studyId: 's1',
        path: 'i2.dcm',
        width: 10,
        height: 10,
        boxes: [],
        none: 0.9,
        studyProbs: { negative: 0.3, typical: 0.3, indeterminate: 0.3, atypical: 0.1 }
      }
    ]
    const rows = submissionRows(images, studyPredictions(images, 'study-head'))
    // (study-head: the mean of the two images' head probabilities)
    expect(rows.map((r) => r.id)).toEqual(['s1_study', 'i1_image', 'i2_image'])
    expect(rows[0].detections.map((d) => [d.cls, d.confidence])).toEqual([
      ['negative', 0.2],
      ['typical', 0.5],
      ['indeterminate', 0.2],
      ['atypical', 0.1]
    ])
    expect(rows[1].detections.map((d) => d.cls)).toEqual(['opacity', 'none'])
    expect(rows[2].detections).toEqual([{ cls: 'none', confidence: 0.9, x1: 0, y1: 0, x2: 1, y2: 1 }])
  })
})
