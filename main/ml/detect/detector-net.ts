// The network behind a Detector: backbone -> BiFPN neck -> detection head, plus the study/none
// head on the pooled backbone features. Module paths: backbone/..., neck/..., head/..., study/...
import * as tf from '@tensorflow/tfjs-core'
import { STUDY_CLASSES } from '../../../common/domain'
import type { Backbone } from '../model/backbone'
import { createBackbone } from '../model/create-backbone'
import { Module, type ForwardOptions } from '../model/module'
import { BiFpn } from './bifpn'
import type { DetectorConfig } from './config'
import { EfficientDetHead } from './efficientdet-head'
import { FcosHead } from './fcos-head'
import type { DetectionHead, HeadOutput } from './head'
import { SPATIAL_STUDY_LEVEL, SpatialStudyHead } from './spatial-study-head'
import { StudyHead, type ImageHeadOutput } from './study-head'

export class DetectorNet extends Module {
  readonly backbone: Backbone
  readonly neck: BiFpn
  readonly head: DetectionHead & Module
  readonly imageHead: StudyHead | SpatialStudyHead

  private readonly inputMean: number
  private readonly inputStd: number
  private readonly minLevel: number

  constructor(config: DetectorConfig) {
    super()
    this.inputMean = config.inputMean
    this.inputStd = config.inputStd
    this.backbone = this.addChild(
      'backbone',
      createBackbone(config.backbone, {
        inputChannels: 1,
        widthMultiplier: config.widthMultiplier,
        depthMultiplier: config.depthMultiplier,
        dropConnectRate: config.dropConnectRate
      })
    )
    const { minLevel, maxLevel } = config
    this.minLevel = minLevel
    this.neck = this.addChild(
      'neck',
      new BiFpn({
        minLevel,
        maxLevel,
        channels: config.neckChannels,
        repeats: config.neckRepeats,
        backboneChannels: this.backbone.featureChannels
      })
    )
    const common = {
      numClasses: config.numClasses,
      channels: config.neckChannels,
      repeats: config.headRepeats,
      focalAlpha: config.focalAlpha,
      focalGamma: config.focalGamma
    }
    this.head = this.addChild(
      'head',
      config.head === 'fcos'
        ? new FcosHead({
            ...common,
            imageSize: config.imageSize,
            minLevel,
            maxLevel,
            centreRadius: config.centreRadius
          })
        : new EfficientDetHead({
            ...common,
            boxLoss: config.boxLoss,
            huberDelta: 0.1,
            anchors: {
              imageSize: config.imageSize,
              minLevel,
              maxLevel,
              anchorScale: config.anchorScale,
              scalesPerOctave: config.scalesPerOctave,
              aspectRatios: config.anchorRatios
            }
          })
    )
    const pooledChannels = this.backbone.pooledChannels
    this.imageHead = this.addChild(
      'study',
      config.studyHead === 'spatial'
        ? new SpatialStudyHead({
            levelChannels: config.neckChannels,
            pooledChannels,
            studyClasses: STUDY_CLASSES.length
          })
        : new StudyHead(pooledChannels, STUDY_CLASSES.length)
    )
  }

  /** [B, S, S, 1] images in [0, 1] -> detection head outputs and the study/none logits. */
  forward(images: tf.Tensor4D, options: ForwardOptions): { head: HeadOutput; image: ImageHeadOutput } {
    const normalised = tf.div(tf.sub(images, this.inputMean), this.inputStd) as tf.Tensor4D
    const { features, pooled } = this.backbone.forward(normalised, options)
    const levels = this.neck.forward(features, options)
    const image =
      this.imageHead instanceof SpatialStudyHead
        ? this.imageHead.forward(levels[SPATIAL_STUDY_LEVEL - this.minLevel], pooled)
        : this.imageHead.forward(pooled)
    return { head: this.head.forward(levels, options), image }
  }
}
