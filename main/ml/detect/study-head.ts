// Image-level outputs on the pooled backbone features: the four study classes (softmax) and the
// `none` score (sigmoid: "this image has no opacity"). Five of the six scored classes come from here.
import * as tf from '@tensorflow/tfjs-core'
import { Dense } from '../model/layers'
import { Module } from '../model/module'
import { sumOverReplicas } from '../model/replica-sum'
import { maskedSoftmaxCrossEntropy, sigmoidCrossEntropy } from './losses'

export interface ImageHeadOutput {
  studyLogits: tf.Tensor2D
  noneLogits: tf.Tensor2D
}

/** The `global` study head (every run before the spatial head has this one). */
export class StudyHead extends Module {
  readonly study: Dense
  readonly none: Dense

  constructor(pooledChannels: number, studyClasses: number) {
    super()
    this.study = this.addChild('study', new Dense(pooledChannels, studyClasses))
    this.none = this.addChild('none', new Dense(pooledChannels, 1))
  }

  forward(pooled: tf.Tensor2D): ImageHeadOutput {
    return { studyLogits: this.study.forward(pooled), noneLogits: this.none.forward(pooled) }
  }
}

/**
 * Study cross-entropy over images whose study class is known, and `none` BCE over images whose
 * opacity status is known (null entries are left out of each mean).
 */
export function imageLevelLosses(
  outputs: ImageHeadOutput,
  studyClass: Array<number | null>,
  hasOpacity: Array<boolean | null>
): { study: tf.Scalar; none: tf.Scalar } {
  const [batch, classes] = outputs.studyLogits.shape
  const studyOneHot = new Float32Array(batch * classes)
  const studyMask = new Float32Array(batch)
  const noneTarget = new Float32Array(batch)
  const noneMask = new Float32Array(batch)
  for (let b = 0; b < batch; b++) {
    const label = studyClass[b]
    if (label !== null && label !== undefined) {
      studyOneHot[b * classes + label] = 1
      studyMask[b] = 1
    }
    const opacity = hasOpacity[b]
    if (opacity !== null && opacity !== undefined) {
      noneTarget[b] = opacity ? 0 : 1
      noneMask[b] = 1
    }
  }
  // images that count, over the whole batch (both threads' images in a two-thread step)
  const [studyCount, noneCount] = sumOverReplicas([countOnes(studyMask), countOnes(noneMask)])
  const study = maskedSoftmaxCrossEntropy(
    outputs.studyLogits,
    tf.tensor2d(studyOneHot, [batch, classes]),
    tf.tensor1d(studyMask),
    studyCount
  )
  const perImage = sigmoidCrossEntropy(tf.reshape(outputs.noneLogits, [batch]), tf.tensor1d(noneTarget))
  const none = tf.div(tf.sum(tf.mul(perImage, tf.tensor1d(noneMask))), Math.max(noneCount, 1)) as tf.Scalar
  return { study, none }
}

function countOnes(mask: Float32Array): number {
  let count = 0
  for (const m of mask) count += m
  return count
}
