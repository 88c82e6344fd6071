// The ONNX export runs in ONNX Runtime with the outputs of the tfjs forward pass, for every head x
// backbone the app offers: raw outputs within 1e-4 of the output's scale, and the same final boxes
// after the TypeScript decoding and NMS.
import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { BACKBONE_NAMES, HEAD_NAMES, STUDY_HEAD_NAMES } from '../../../common/training'
import {
  createDetector,
  type Detector,
  type ImagePrediction,
  type NamedWeights
} from '../../../main/ml/detect'
import { ONNX_OUTPUTS, exportDetectorOnnx } from '../../../main/ml/onnx/export'
import { OnnxDetectorSession, flipHorizontally, loadOnnxRuntime } from '../../../main/ml/onnx/runtime'
import { mulberry32 } from '../../../main/core/export/split'
import { useWasmBackend } from '../detect/fixtures'

/** Max |onnx - tfjs| allowed, relative to max(1, max |tfjs|) of each output. */
const TOLERANCE = 1e-4
/**
 * Box corners in input pixels: the P7 anchors are ~800 px wide at 128 px input, so a 1e-4 error in
 * a log-size delta moves a corner by up to ~0.5 px (boxes that large are clipped to the image).
 */
const BOX_TOLERANCE_PX = 1
const SIZE = 128
const BATCH = 2

type Ort = NonNullable<Awaited<ReturnType<typeof loadOnnxRuntime>>['ort']>
let ort: Ort

beforeAll(async () => {
  await useWasmBackend()
  const loaded = await loadOnnxRuntime()
  if (!loaded.ort) throw new Error(`onnxruntime-node must load for these tests: ${loaded.reason}`)
  ort = loaded.ort
})

/**
 * Fresh detectors have identity batch norms and near-constant outputs. Give the norms' affine
 * parts, the fusion weights and FCOS level scales seeded random values, then calibrate the running
 * statistics on the batch (momentum 0: they become its statistics, so activations keep a realistic
 * scale), then sharpen the output layers, so folding and decoding are tested on varied outputs.
 */
function randomiseWeights(detector: Detector, input: Float32Array, seed: number): void {
  const next = mulberry32(seed)
  const update = (change: (name: string, values: Float32Array) => void) => {
    const weights: NamedWeights = detector.getWeights()
    for (const [name, weight] of weights) change(name, weight.values)
    detector.setWeights(weights)
  }
  update((name, v) => {
    for (let i = 0; i < v.length; i++) {
      if (name.endsWith('/beta')) v[i] = (next() - 0.5) * 0.4
      else if (name.endsWith('/gamma') || name.endsWith('fusion_weights') || name.endsWith('level_scales'))
        v[i] = 0.5 + next()
    }
  })
  tf.tidy(() => {
    detector.loss(tf.tensor4d(input, [BATCH, SIZE, SIZE, 1]), {
      boxes: Array.from({ length: BATCH }, () => [[10, 10, 60, 70]]),
      studyClass: Array.from({ length: BATCH }, () => 1),
      hasOpacity: Array.from({ length: BATCH }, () => true)
    })
  })
  update((name, v) => {
    // the top levels are 1x1 and 2x2 maps: a variance over a handful of values would turn float
    // rounding into large differences, where a trained network's statistics never do
    if (name.endsWith('/moving_variance')) for (let i = 0; i < v.length; i++) v[i] = Math.max(v[i], 0.1)
    if (name.endsWith('class_output/pointwise/bias')) v.fill(0) // scores around 0.5, not the 0.01 prior
    if (!name.endsWith('_output/pointwise/kernel')) return
    for (let i = 0; i < v.length; i++) v[i] *= name.includes('class_output') ? 10 : 5
  })
}

function images(seed: number): Float32Array {
  const next = mulberry32(seed)
  return Float32Array.from({ length: BATCH * SIZE * SIZE }, () => next())
}

function maxRelativeDiff(actual: Float32Array, expected: Float32Array): number {
  let scale = 1
  let diff = 0
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]))
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]))
  }
  return diff / scale
}

/** The same boxes (any order among equal scores), labels, scores and image-level outputs. */
function expectSamePredictions(onnx: ImagePrediction[], tfjs: ImagePrediction[]): void {
  expect(onnx).toHaveLength(tfjs.length)
  onnx.forEach((p, b) => {
    const expected = tfjs[b]
    expect(p.boxes.length).toBe(expected.boxes.length)
    p.boxes.forEach((box, k) => {
      const match = expected.boxes.findIndex(
        (other, j) =>
          expected.labels[j] === p.labels[k] &&
          Math.abs(expected.scores[j] - p.scores[k]) < TOLERANCE &&
          other.every((c, i) => Math.abs(c - box[i]) < BOX_TOLERANCE_PX)
      )
      expect(match, `box ${k} of image ${b}: ${box.join(' ')} at ${p.scores[k]}`).toBeGreaterThanOrEqual(0)
    })
    p.studyProbs.forEach((q, k) => expect(Math.abs(q - expected.studyProbs[k])).toBeLessThan(TOLERANCE))
    expect(Math.abs(p.noneScore - expected.noneScore)).toBeLessThan(TOLERANCE)
  })
}

const PAIRS = HEAD_NAMES.flatMap((head) => BACKBONE_NAMES.map((backbone) => ({ head, backbone })))

describe.each(STUDY_HEAD_NAMES)('ONNX export of every head x backbone, %s study head', (studyHead) => {
  let seed = studyHead === 'global' ? 1 : 101
  for (const { head, backbone } of PAIRS) {
    const pairSeed = seed++
    it(`${head} + ${backbone}: ONNX Runtime outputs and final boxes equal tfjs's`, async () => {
      const detector = createDetector({
        head,
        backbone,
        studyHead,
        imageSize: SIZE,
        widthMultiplier: 0.25,
        depthMultiplier: 0.25,
        neckChannels: 16,
        neckRepeats: 2,
        headRepeats: 1,
        maxLevel: 7,
        batchNormMomentum: 0,
        seed: pairSeed
      })
      const input = images(pairSeed)
      randomiseWeights(detector, input, pairSeed)
      const randomised = await OnnxDetectorSession.open(ort, detector, { threads: 1 })
      try {
        const onnx = await randomised.run(input, BATCH)
        const tfjs = tf.tidy(() => {
          const outputs = detector.forwardOutputs(tf.tensor4d(input, [BATCH, SIZE, SIZE, 1]))
          return Object.fromEntries(
            Object.entries(outputs).map(([key, t]) => [key, (t as tf.Tensor).dataSync() as Float32Array])
          )
        })
        const compared = Object.entries(ONNX_OUTPUTS).filter(([key]) => key in tfjs)
        expect(compared.length).toBe(head === 'fcos' ? 8 : 7)
        for (const [key, name] of compared) {
          expect(onnx[name], name).toBeDefined()
          expect(onnx[name].length, name).toBe(tfjs[key].length)
          expect(maxRelativeDiff(onnx[name], tfjs[key]), `${name} max relative diff`).toBeLessThan(TOLERANCE)
        }
        // the outputs are not trivially constant: the comparison above has something to compare
        const scores = tfjs.scores
        expect(Math.max(...scores) - Math.min(...scores)).toBeGreaterThan(0.1)
        const studyLogits = tfjs.studyLogits
        expect(Math.max(...studyLogits) - Math.min(...studyLogits)).toBeGreaterThan(0.01)

        const options = { scoreThreshold: 0.3, maxDetections: 20, flipTta: true }
        const viaTfjs = await detector.predict(tf.tensor4d(input, [BATCH, SIZE, SIZE, 1]), options)
        const viaOnnx = await detector.predictWith(
          (flipped) => randomised.predictionOutputs(input, BATCH, flipped),
          BATCH,
          options
        )
        expect(viaTfjs.some((p) => p.boxes.length > 0)).toBe(true)
        expectSamePredictions(viaOnnx, viaTfjs)
      } finally {
        await randomised.close()
        detector.dispose()
      }
    }, 60_000)
  }
})

describe('ONNX export', () => {
  it('writes a model whose metadata names the architecture, and flips like tf.reverse', async () => {
    const detector = createDetector({ imageSize: 128, widthMultiplier: 0.25, depthMultiplier: 0.25 })
    try {
      const { bytes, outputNames } = exportDetectorOnnx(detector, { run: 'example' })
      expect(outputNames).toContain('scores')
      const session = await ort.InferenceSession.create(bytes)
      expect(session.inputNames).toEqual(['images'])
      expect(session.outputNames).toEqual(outputNames)
      await session.release()
      const text = Buffer.from(bytes).toString('latin1')
      expect(text).toContain('efficientdet')
      expect(text).toContain('example')
    } finally {
      detector.dispose()
    }
    const square = Float32Array.from({ length: 2 * 3 * 3 }, (_, i) => i)
    const flipped = flipHorizontally(square, 2, 3)
    const expected = tf.tidy(() => tf.reverse(tf.tensor4d(square, [2, 3, 3, 1]), 2).dataSync())
    expect(Array.from(flipped)).toEqual(Array.from(expected))
  })
})
