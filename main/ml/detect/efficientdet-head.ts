// EfficientDet class and box nets over anchors: conv towers shared across levels, focal loss for
// classes, smooth-L1 on anchor deltas or GIoU on decoded boxes.
import * as tf from '@tensorflow/tfjs-core'
import { SeparableConv2d } from '../model/layers'
import { Module, type ForwardOptions } from '../model/module'
import { sumOverReplicas } from '../model/replica-sum'
import { generateAnchors, type AnchorConfig, type AnchorSet } from './anchors'
import { anchorTargets, matchAnchors } from './anchor-targets'
import { decodeBox, decodeBoxesTf } from './box-coding'
import type { Detections } from './boxes'
import {
  topCandidates,
  type DetectionHead,
  type HeadLosses,
  type HeadOutput,
  type ImageTargets
} from './head'
import { focalLossSum, giouLoss, huberLossSum } from './losses'
import { SharedTower, flattenLevels } from './tower'

export interface EfficientDetHeadOptions {
  anchors: AnchorConfig
  numClasses: number
  channels: number
  repeats: number
  boxLoss: 'smooth-l1' | 'giou'
  focalAlpha: number
  focalGamma: number
  /** Huber delta on anchor deltas (EfficientDet: 0.1). */
  huberDelta: number
}

/** Class-output bias so every anchor starts at probability 0.01 (focal-loss paper's prior). */
export const CLASS_PRIOR_BIAS = -Math.log((1 - 0.01) / 0.01)
/** Output convs start almost constant (RetinaNet's N(0, 0.01)), so the prior above holds at step 0. */
export const OUTPUT_KERNEL_STD = 0.01

export class EfficientDetHead extends Module implements DetectionHead {
  readonly anchors: AnchorSet
  readonly classTower: SharedTower
  readonly boxTower: SharedTower
  readonly classOutput: SeparableConv2d
  readonly boxOutput: SeparableConv2d

  constructor(readonly options: EfficientDetHeadOptions) {
    super()
    const { minLevel, maxLevel } = options.anchors
    this.anchors = generateAnchors(options.anchors)
    const perCell = this.anchors.anchorsPerCell
    this.classTower = this.addChild(
      'class_net',
      new SharedTower(options.channels, options.repeats, minLevel, maxLevel)
    )
    this.classOutput = this.addChild(
      'class_output',
      new SeparableConv2d(options.channels, perCell * options.numClasses, {
        bias: true,
        biasInit: CLASS_PRIOR_BIAS,
        kernelStd: OUTPUT_KERNEL_STD
      })
    )
    this.boxTower = this.addChild(
      'box_net',
      new SharedTower(options.channels, options.repeats, minLevel, maxLevel)
    )
    this.boxOutput = this.addChild(
      'box_output',
      new SeparableConv2d(options.channels, perCell * 4, { bias: true, kernelStd: OUTPUT_KERNEL_STD })
    )
  }

  get locationCount(): number {
    return this.anchors.count
  }

  forward(levels: tf.Tensor4D[], options: ForwardOptions): HeadOutput {
    const classes = this.classTower.forward(levels, options).map((x) => this.classOutput.forward(x))
    const boxes = this.boxTower.forward(levels, options).map((x) => this.boxOutput.forward(x))
    return {
      classLogits: flattenLevels(classes, this.options.numClasses),
      boxRegression: flattenLevels(boxes, 4)
    }
  }

  loss(output: HeadOutput, targets: ImageTargets[]): HeadLosses {
    const { numClasses } = this.options
    const n = this.anchors.count
    const batch = targets.length
    const classes = new Float32Array(batch * n * numClasses)
    const classWeights = new Float32Array(batch * n)
    const deltas = new Float32Array(batch * n * 4)
    const gtBoxes = new Float32Array(batch * n * 4)
    const positives = new Float32Array(batch * n)
    let positiveCount = 0
    targets.forEach((image, b) => {
      if (!image.detectionValid) return // classWeights stay 0: no detection loss for this image
      const t = anchorTargets(
        this.anchors,
        image.boxes,
        image.labels,
        numClasses,
        matchAnchors(this.anchors, image.boxes)
      )
      classes.set(t.classes, b * n * numClasses)
      classWeights.set(t.classWeights, b * n)
      deltas.set(t.deltas, b * n * 4)
      gtBoxes.set(t.boxes, b * n * 4)
      positives.set(t.positives, b * n)
      positiveCount += t.positiveCount
    })
    // positives of the whole batch, both threads' images in a two-thread step
    const normaliser = Math.max(1, sumOverReplicas([positiveCount])[0])
    const positiveMask = tf.tensor3d(positives, [batch, n, 1])
    const cls = tf.div(
      focalLossSum(
        output.classLogits,
        tf.tensor3d(classes, [batch, n, numClasses]),
        tf.tensor3d(classWeights, [batch, n, 1]),
        this.options.focalAlpha,
        this.options.focalGamma
      ),
      normaliser
    ) as tf.Scalar
    let box: tf.Scalar
    if (this.options.boxLoss === 'smooth-l1') {
      box = tf.div(
        huberLossSum(
          output.boxRegression,
          tf.tensor3d(deltas, [batch, n, 4]),
          positiveMask,
          this.options.huberDelta
        ),
        normaliser * 4
      ) as tf.Scalar
    } else {
      const decoded = decodeBoxesTf(output.boxRegression, tf.tensor2d(this.anchors.boxes, [n, 4]))
      const perAnchor = giouLoss(decoded, tf.tensor3d(gtBoxes, [batch, n, 4]))
      box = tf.div(tf.sum(tf.mul(perAnchor, tf.reshape(positiveMask, [batch, n]))), normaliser) as tf.Scalar
    }
    return { cls, box }
  }

  scores(output: HeadOutput): tf.Tensor3D {
    return tf.sigmoid(output.classLogits)
  }

  decode(scores: Float32Array, boxRegression: Float32Array, threshold: number, topK: number): Detections {
    const numClasses = this.options.numClasses
    const detections: Detections = { boxes: [], scores: [], labels: [] }
    for (const index of topCandidates(scores, threshold, topK)) {
      const anchor = Math.floor(index / numClasses)
      detections.boxes.push(decodeBox(this.anchors.boxes, anchor, boxRegression, 4 * anchor))
      detections.scores.push(scores[index])
      detections.labels.push(index % numClasses)
    }
    return detections
  }
}
