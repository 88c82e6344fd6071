// Batched inference over image samples: boxes mapped back to original DICOM pixels, the image-level
// `none` score, and study-class probabilities per image (aggregated per study in study-level.ts).
import * as tf from '@tensorflow/tfjs-core'
import { STUDY_CLASSES, type ProgressListener, type StudyClass, type StudyFrom } from '../../../common/domain'
import type { PredictedBox } from '../../../common/contract/training'
import type { Detector, PredictOptions } from '../detect/detector'
import type { MergeMode } from '../detect/postprocess'
import type { BatchLoader } from '../data/loader'
import { originalBox } from '../data/samples'
import { DEFAULT_STUDY_FROM } from './study-level'
import type { OnnxDetectorSession } from '../onnx/runtime'

export type { PredictedBox } from '../../../common/contract/training'

export interface ImagePredictionRecord {
  imageId: string
  studyId: string
  /** Path relative to the dataset root. */
  path: string
  /** Original DICOM size. */
  width: number
  height: number
  /** Highest confidence first. */
  boxes: PredictedBox[]
  /** Confidence that the image has no opacity. */
  none: number
  /** The study head's probabilities for this image. */
  studyProbs: Record<StudyClass, number>
}

export interface PredictionSettings {
  /** Boxes below this confidence are dropped (low, because AP rewards a long ranked list). */
  scoreThreshold: number
  /** Same-class overlap above which boxes are suppressed (NMS) or fused (WBF). */
  iouThreshold: number
  maxDetections: number
  merge: MergeMode
  /** Horizontal-flip test-time augmentation. */
  flipTta: boolean
  /** `none` from the image head, from the boxes (1 - the best box confidence), or the mean of both. */
  noneFrom: 'head' | 'boxes' | 'combined'
  /**
   * Study classes from the study head, the seed's box-majority rule, their mean, or the run's fitted
   * box-evidence / fused regression (see study-level.ts and study-fusion.ts).
   */
  studyFrom: StudyFrom
}

export const DEFAULT_PREDICTION: PredictionSettings = {
  scoreThreshold: 0.02,
  iouThreshold: 0.5,
  maxDetections: 30,
  merge: 'nms',
  flipTta: false,
  // the heads and the boxes fail differently early in training; their mean ranks better than either
  noneFrom: 'combined',
  studyFrom: DEFAULT_STUDY_FROM
}

/**
 * Predicts every sample of `loader` (which must not augment), batch by batch: on `onnx` (the
 * detector exported to ONNX Runtime) when given, else on tfjs; decoding and NMS are the same.
 */
export async function predictSamples(
  detector: Detector,
  loader: BatchLoader,
  settings: PredictionSettings,
  options: {
    signal?: AbortSignal
    onProgress?: ProgressListener
    stage?: string
    onnx?: OnnxDetectorSession | null
  } = {}
): Promise<ImagePredictionRecord[]> {
  if (loader.options.augment) throw new Error('predictSamples needs a loader without augmentation')
  const out: ImagePredictionRecord[] = []
  const size = loader.imageSize
  const total = loader.samples.length
  const stage = options.stage ?? 'predict'
  options.onProgress?.({ stage, done: 0, total })
  for await (const batch of loader.batches(0)) {
    options.signal?.throwIfAborted()
    const predictions = await predictBatch(
      detector,
      batch.images,
      batch.samples.length,
      size,
      settings,
      options.onnx
    )
    batch.samples.forEach((sample, i) => {
      const p = predictions[i]
      const boxes: PredictedBox[] = []
      p.boxes.forEach((box, k) => {
        if (p.labels[k] !== 0) return // class 0 is opacity, the only box class scored
        const [x1, y1, x2, y2] = originalBox(box, sample, size)
        if (x2 - x1 >= 1 && y2 - y1 >= 1) boxes.push({ x1, y1, x2, y2, confidence: p.scores[k] })
      })
      boxes.sort((a, b) => b.confidence - a.confidence)
      const fromBoxes = 1 - (boxes[0]?.confidence ?? 0)
      const none =
        settings.noneFrom === 'boxes'
          ? fromBoxes
          : settings.noneFrom === 'head'
            ? p.noneScore
            : (fromBoxes + p.noneScore) / 2
      out.push({
        imageId: sample.imageId,
        studyId: sample.studyId,
        path: sample.relPath,
        width: sample.width,
        height: sample.height,
        boxes,
        none,
        studyProbs: Object.fromEntries(STUDY_CLASSES.map((c, k) => [c, p.studyProbs[k]])) as Record<
          StudyClass,
          number
        >
      })
    })
    options.onProgress?.({ stage, done: out.length, total })
    // a turn of the event loop per batch: the awaited tfjs calls settle as microtasks, so without it
    // a worker never reads the job's cancel message until every image is predicted
    await new Promise((resolve) => setImmediate(resolve))
  }
  return out
}

async function predictBatch(
  detector: Detector,
  pixels: Float32Array,
  count: number,
  size: number,
  settings: PredictionSettings,
  onnx: OnnxDetectorSession | null | undefined
) {
  const options: PredictOptions = {
    scoreThreshold: settings.scoreThreshold,
    iouThreshold: settings.iouThreshold,
    maxDetections: settings.maxDetections,
    merge: settings.merge,
    flipTta: settings.flipTta
  }
  if (onnx)
    return detector.predictWith((flipped) => onnx.predictionOutputs(pixels, count, flipped), count, options)
  const images = tf.tensor4d(pixels, [count, size, size, 1])
  try {
    return await detector.predict(images, options)
  } finally {
    images.dispose()
  }
}
