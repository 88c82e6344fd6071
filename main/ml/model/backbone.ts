// What a detector needs from a backbone: multi-scale features, pooled features, ordered stages.
import type * as tf from '@tensorflow/tfjs-core'
import { Module, type ForwardOptions } from './module'

export { BACKBONE_NAMES, type BackboneName } from '../names'

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

/** Keras' `_make_divisible`: rounds a channel count to a multiple of 8 without losing over 10%. */
export function makeDivisible(value: number, divisor = 8): number {
  let rounded = Math.max(divisor, Math.floor((value + divisor / 2) / divisor) * divisor)
  if (rounded < 0.9 * value) rounded += divisor
  return rounded
}
