// What a detector needs from a backbone: multi-scale features, pooled features, ordered stages.
import type * as tf from '@tensorflow/tfjs-core'
import { globalAvgPool, type ConvBn } from './layers'
import { Module, type ForwardOptions } from './module'

export { BACKBONE_NAMES, type BackboneName } from '../../../common/training'

export interface BackboneOptions {
  /** Channels of the input image (1 for greyscale radiographs). */
  inputChannels: number
  /** Scales every layer's channel count (on top of EfficientNet's own compound scaling). */
  widthMultiplier: number
  /** Scales the number of blocks per stage (EfficientNet only; others ignore it). */
  depthMultiplier: number
  /** Stochastic-depth rate for the last block (EfficientNet); 0 disables it. */
  dropConnectRate: number
}

export interface BackboneOutput {
  /** Feature maps keyed by stride: 4, 8, 16 and 32. */
  features: Map<number, tf.Tensor4D>
  /** Globally average-pooled final features [B, pooledChannels], for image/study classification. */
  pooled: tf.Tensor2D
}

/** A named set of modules trained or frozen together. */
export interface ModuleGroup {
  name: string
  modules: Module[]
}

export abstract class Backbone extends Module {
  /** Channels of each feature map, keyed by stride. */
  abstract readonly featureChannels: ReadonlyMap<number, number>
  abstract readonly pooledChannels: number
  /** Stages from the input towards the output, so fine-tuning can unfreeze the last n first. */
  abstract stages(): ModuleGroup[]
  abstract forward(x: tf.Tensor4D, options: ForwardOptions): BackboneOutput
}

/**
 * A backbone of a stem, blocks grouped into stages and a 1x1 top conv whose output is pooled
 * (EfficientNet, MobileNetV2). `stageStarts` holds the first block of each stage, then the block
 * count; `featureStages` maps each output stride to the 0-based stage whose output is that map.
 */
export abstract class StagedBackbone extends Backbone {
  abstract readonly stem: ConvBn
  abstract readonly blocks: ReadonlyArray<
    Module & { forward(x: tf.Tensor4D, options: ForwardOptions): tf.Tensor4D }
  >
  abstract readonly top: ConvBn
  abstract readonly stageStarts: number[]
  abstract readonly featureStages: ReadonlyArray<readonly [stride: number, stage: number]>

  stages(): ModuleGroup[] {
    const groups: ModuleGroup[] = [{ name: 'stem', modules: [this.stem] }]
    for (let s = 0; s + 1 < this.stageStarts.length; s++) {
      groups.push({
        name: `stage${s + 1}`,
        modules: this.blocks.slice(this.stageStarts[s], this.stageStarts[s + 1])
      })
    }
    groups.push({ name: 'top', modules: [this.top] })
    return groups
  }

  forward(x: tf.Tensor4D, options: ForwardOptions): BackboneOutput {
    const features = new Map<number, tf.Tensor4D>()
    let y = this.stem.forward(x, options)
    for (let s = 0; s + 1 < this.stageStarts.length; s++) {
      for (let b = this.stageStarts[s]; b < this.stageStarts[s + 1]; b++)
        y = this.blocks[b].forward(y, options)
      const stride = this.featureStages.find(([, stage]) => stage === s)?.[0]
      if (stride) features.set(stride, y)
    }
    return { features, pooled: globalAvgPool(this.top.forward(y, options)) }
  }
}

/** Keras' `_make_divisible`: rounds a channel count to a multiple of 8 without losing over 10%. */
export function makeDivisible(value: number, divisor = 8): number {
  let rounded = Math.max(divisor, Math.floor((value + divisor / 2) / divisor) * divisor)
  if (rounded < 0.9 * value) rounded += divisor
  return rounded
}
