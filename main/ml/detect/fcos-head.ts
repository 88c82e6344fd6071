// FCOS (Tian et al. 2019), the anchor-free head: per location a class score, distances to the four
// box sides (exp of a per-level scaled output, in strides) and a centre-ness score that down-weights
// off-centre predictions. It shares the BiFPN levels and tower layout with EfficientDet.
import * as tf from '@tensorflow/tfjs-core'
import { SeparableConv2d } from '../model/layers'
import { Module, type ForwardOptions } from '../model/module'
import { constant } from '../model/init'
import { sumOverReplicas } from '../model/replica-sum'
import type { Detections } from './boxes'
import { CLASS_PRIOR_BIAS, OUTPUT_KERNEL_STD } from './efficientdet-head'
import { fcosTargets, generateLocations, type FcosLocations } from './fcos-targets'
import {
  topCandidates,
  type DetectionHead,
  type HeadLosses,
  type HeadOutput,
  type ImageTargets
} from './head'
import { focalLossSum, giouLossLtrb, sigmoidCrossEntropy } from './losses'
import { SharedTower, flattenLevels } from './tower'

export interface FcosHeadOptions {
  imageSize: number
  minLevel: number
  maxLevel: number
  numClasses: number
  channels: number
  repeats: number
  focalAlpha: number
  focalGamma: number
  /** Centre sampling radius in strides. */
  centreRadius: number
}

/** exp() input cap: 8 -> about 3000 strides, far beyond any image. */
const MAX_LOG_DISTANCE = 8

export class FcosHead extends Module implements DetectionHead {
  readonly locations: FcosLocations
  readonly classTower: SharedTower
  readonly boxTower: SharedTower
  readonly classOutput: SeparableConv2d
  readonly boxOutput: SeparableConv2d
  readonly centernessOutput: SeparableConv2d
  readonly levelScales: tf.Variable

  constructor(readonly options: FcosHeadOptions) {
    super()
    const { minLevel, maxLevel, channels, repeats } = options
    this.locations = generateLocations(options.imageSize, minLevel, maxLevel)
    this.classTower = this.addChild('class_net', new SharedTower(channels, repeats, minLevel, maxLevel))
    this.classOutput = this.addChild(
      'class_output',
      new SeparableConv2d(channels, options.numClasses, {
        bias: true,
        biasInit: CLASS_PRIOR_BIAS,
        kernelStd: OUTPUT_KERNEL_STD
      })
    )
    this.boxTower = this.addChild('box_net', new SharedTower(channels, repeats, minLevel, maxLevel))
    this.boxOutput = this.addChild(
      'box_output',
      new SeparableConv2d(channels, 4, { bias: true, kernelStd: OUTPUT_KERNEL_STD })
    )
    this.centernessOutput = this.addChild(
      'centerness_output',
      new SeparableConv2d(channels, 1, { bias: true, kernelStd: OUTPUT_KERNEL_STD })
    )
    const levels = maxLevel - minLevel + 1
    this.levelScales = this.addParam('level_scales', [levels], constant([levels], 1))
  }

  get locationCount(): number {
    return this.locations.count
  }

  forward(levels: tf.Tensor4D[], options: ForwardOptions): HeadOutput {
    const classes = this.classTower.forward(levels, options).map((x) => this.classOutput.forward(x))
    const boxFeatures = this.boxTower.forward(levels, options)
    const scales = tf.unstack(this.levelScales)
    const distances = boxFeatures.map(
      (x, i) =>
        tf.exp(tf.minimum(tf.mul(this.boxOutput.forward(x), scales[i]), MAX_LOG_DISTANCE)) as tf.Tensor4D
    )
    const centerness = boxFeatures.map((x) => this.centernessOutput.forward(x))
    return {
      classLogits: flattenLevels(classes, this.options.numClasses),
      boxRegression: flattenLevels(distances, 4),
      centerness: flattenLevels(centerness, 1)
    }
  }

  loss(output: HeadOutput, targets: ImageTargets[]): HeadLosses {
    const { numClasses } = this.options
    const n = this.locations.count
    const batch = targets.length
    const classes = new Float32Array(batch * n * numClasses)
    const classWeights = new Float32Array(batch * n)
    const distances = new Float32Array(batch * n * 4)
    const centerness = new Float32Array(batch * n)
    const positives = new Float32Array(batch * n)
    let positiveCount = 0
    let centernessSum = 0
    targets.forEach((image, b) => {
      if (!image.detectionValid) return
      const t = fcosTargets(this.locations, image.boxes, image.labels, numClasses, this.options.centreRadius)
      classes.set(t.classes, b * n * numClasses)
      classWeights.fill(1, b * n, (b + 1) * n)
      distances.set(t.distances, b * n * 4)
      centerness.set(t.centerness, b * n)
      positives.set(t.positives, b * n)
      positiveCount += t.positiveCount
      for (const c of t.centerness) centernessSum += c
    })
    // positives and centre-ness of the whole batch, both threads' images in a two-thread step
    const [batchPositives, batchCenterness] = sumOverReplicas([positiveCount, centernessSum])
    const normaliser = Math.max(1, batchPositives)
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
    const centernessTargets = tf.tensor2d(centerness, [batch, n])
    // Box loss weighted by the centre-ness target, as in FCOS: central locations matter most.
    const giou = giouLossLtrb(output.boxRegression, tf.tensor3d(distances, [batch, n, 4]))
    const box = tf.div(tf.sum(tf.mul(giou, centernessTargets)), Math.max(batchCenterness, 1e-6)) as tf.Scalar
    const centernessLogits = tf.reshape(output.centerness!, [batch, n])
    const ctr = tf.div(
      tf.sum(
        tf.mul(sigmoidCrossEntropy(centernessLogits, centernessTargets), tf.tensor2d(positives, [batch, n]))
      ),
      normaliser
    ) as tf.Scalar
    return { cls, box, centerness: ctr }
  }

  scores(output: HeadOutput): tf.Tensor3D {
    return tf.sqrt(tf.mul(tf.sigmoid(output.classLogits), tf.sigmoid(output.centerness!)))
  }

  decode(scores: Float32Array, boxRegression: Float32Array, threshold: number, topK: number): Detections {
    const numClasses = this.options.numClasses
    const { points, strides } = this.locations
    const detections: Detections = { boxes: [], scores: [], labels: [] }
    for (const index of topCandidates(scores, threshold, topK)) {
      const i = Math.floor(index / numClasses)
      const x = points[2 * i]
      const y = points[2 * i + 1]
      const s = strides[i]
      const o = 4 * i
      detections.boxes.push([
        x - boxRegression[o] * s,
        y - boxRegression[o + 1] * s,
        x + boxRegression[o + 2] * s,
        y + boxRegression[o + 3] * s
      ])
      detections.scores.push(scores[index])
      detections.labels.push(index % numClasses)
    }
    return detections
  }
}
