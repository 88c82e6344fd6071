// What every detection head offers the Detector: outputs over all pyramid levels flattened into one
// location axis, a loss against per-image targets, and decoding of one image's candidates.
import type * as tf from '@tensorflow/tfjs-core'
import type { Module, ForwardOptions } from '../model/module'
import type { Detections } from './boxes'

export interface HeadOutput {
  /** [B, N, numClasses] class logits for N anchors / locations. */
  classLogits: tf.Tensor3D
  /** [B, N, 4] box regression (anchor deltas, or FCOS distances in strides). */
  boxRegression: tf.Tensor3D
  /** [B, N, 1] centre-ness logits (FCOS only). */
  centerness?: tf.Tensor3D
}

/** Ground truth of one image in model-input pixels. */
export interface ImageTargets {
  /** Flat [M * 4] x1 y1 x2 y2. */
  boxes: Float32Array
  labels: Int32Array
  /** False for an image known to hold opacity but with no boxes: its detection loss is skipped. */
  detectionValid: boolean
}

export interface HeadLosses {
  cls: tf.Scalar
  box: tf.Scalar
  centerness?: tf.Scalar
}

export interface DetectionHead extends Module {
  readonly locationCount: number
  forward(levels: tf.Tensor4D[], options: ForwardOptions): HeadOutput
  loss(output: HeadOutput, targets: ImageTargets[]): HeadLosses
  /** Per-class confidence in [0, 1], [B, N, numClasses]. */
  scores(output: HeadOutput): tf.Tensor3D
  /** Boxes of one image's candidates whose score passes `threshold` (at most `topK`), unsorted. */
  decode(scores: Float32Array, boxRegression: Float32Array, threshold: number, topK: number): Detections
}

/** Indices (location * numClasses + class) of the `topK` best scores above `threshold`. */
export function topCandidates(scores: Float32Array, threshold: number, topK: number): number[] {
  const kept: number[] = []
  for (let i = 0; i < scores.length; i++) if (scores[i] > threshold) kept.push(i)
  kept.sort((a, b) => scores[b] - scores[a])
  return kept.length > topK ? kept.slice(0, topK) : kept
}
