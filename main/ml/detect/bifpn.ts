// BiFPN neck (Tan et al., EfficientDet 2020): repeated top-down + bottom-up passes over pyramid
// levels with fast normalised fusion, fusing each node as sum(relu(w_i) * x_i) / (sum(relu(w)) + eps).
import * as tf from '@tensorflow/tfjs-core'
import { ConvBn, Conv2d, SeparableConv2d, activate } from '../model/layers'
import { Module, type ForwardOptions } from '../model/module'
import { constant } from '../model/init'

const FUSION_EPSILON = 1e-4

export class FusionNode extends Module {
  readonly fusionWeights: tf.Variable
  readonly conv: ConvBn

  constructor(
    readonly inputs: number,
    channels: number
  ) {
    super()
    this.fusionWeights = this.addParam('fusion_weights', [inputs], constant([inputs], 1))
    this.conv = this.addChild('conv', new ConvBn(new SeparableConv2d(channels, channels), 'linear'))
  }

  forward(inputs: tf.Tensor4D[], options: ForwardOptions): tf.Tensor4D {
    const weights = tf.relu(this.fusionWeights)
    const normalised = tf.unstack(tf.div(weights, tf.add(tf.sum(weights), FUSION_EPSILON)))
    let fused = tf.mul(inputs[0], normalised[0]) as tf.Tensor4D
    for (let i = 1; i < inputs.length; i++) fused = tf.add(fused, tf.mul(inputs[i], normalised[i]))
    return this.conv.forward(activate(fused, 'swish'), options)
  }
}

export class BiFpnLayer extends Module {
  readonly topDown: FusionNode[] = []
  readonly bottomUp: FusionNode[] = []

  constructor(
    readonly levelCount: number,
    channels: number
  ) {
    super()
    // topDown[i] produces level i (from the top level - 1 down to 0); bottomUp[i] produces level i + 1
    for (let i = 0; i < levelCount - 1; i++)
      this.topDown.push(this.addChild(`top_down.${i}`, new FusionNode(2, channels)))
    for (let i = 1; i < levelCount; i++) {
      this.bottomUp.push(
        this.addChild(`bottom_up.${i - 1}`, new FusionNode(i === levelCount - 1 ? 2 : 3, channels))
      )
    }
  }

  forward(levels: tf.Tensor4D[], options: ForwardOptions): tf.Tensor4D[] {
    const top = this.levelCount - 1
    const intermediate: tf.Tensor4D[] = [...levels]
    for (let i = top - 1; i >= 0; i--) {
      intermediate[i] = this.topDown[i].forward([levels[i], upsample2x(intermediate[i + 1])], options)
    }
    const outputs: tf.Tensor4D[] = [intermediate[0]]
    for (let i = 1; i <= top; i++) {
      const below = downsample2x(outputs[i - 1])
      const inputs = i === top ? [levels[i], below] : [levels[i], intermediate[i], below]
      outputs.push(this.bottomUp[i - 1].forward(inputs, options))
    }
    return outputs
  }
}

export interface BiFpnOptions {
  minLevel: number
  maxLevel: number
  channels: number
  repeats: number
  /** Backbone channels keyed by stride (8, 16, 32 are used). */
  backboneChannels: ReadonlyMap<number, number>
}

export class BiFpn extends Module {
  readonly lateral: ConvBn[] = []
  readonly extraLevel: ConvBn | null
  readonly layers: BiFpnLayer[] = []

  constructor(readonly options: BiFpnOptions) {
    super()
    const backboneTop = Math.min(options.maxLevel, 5)
    for (let level = options.minLevel; level <= backboneTop; level++) {
      const inChannels = channelsAt(options.backboneChannels, level)
      this.lateral.push(
        this.addChild(`lateral.P${level}`, new ConvBn(new Conv2d(inChannels, options.channels, 1), 'linear'))
      )
    }
    // Levels above the backbone's stride 32 come from C5: a 1x1 conv, then max-pooling per level.
    this.extraLevel =
      options.maxLevel > 5
        ? this.addChild(
            'extra.P6',
            new ConvBn(new Conv2d(channelsAt(options.backboneChannels, 5), options.channels, 1), 'linear')
          )
        : null
    const levelCount = options.maxLevel - options.minLevel + 1
    for (let r = 0; r < options.repeats; r++)
      this.layers.push(this.addChild(`layers.${r}`, new BiFpnLayer(levelCount, options.channels)))
  }

  /** Backbone features keyed by stride -> one feature map per level, minLevel first. */
  forward(features: Map<number, tf.Tensor4D>, options: ForwardOptions): tf.Tensor4D[] {
    const levels = this.lateral.map((conv, i) =>
      conv.forward(featureAt(features, this.options.minLevel + i), options)
    )
    if (this.extraLevel) {
      let extra = downsample2x(this.extraLevel.forward(featureAt(features, 5), options))
      levels.push(extra)
      for (let level = 7; level <= this.options.maxLevel; level++) {
        extra = downsample2x(extra)
        levels.push(extra)
      }
    }
    return this.layers.reduce((current, layer) => layer.forward(current, options), levels)
  }
}

function channelsAt(channels: ReadonlyMap<number, number>, level: number): number {
  const value = channels.get(2 ** level)
  if (value === undefined) throw new Error(`backbone has no stride-${2 ** level} features`)
  return value
}

function featureAt(features: Map<number, tf.Tensor4D>, level: number): tf.Tensor4D {
  const value = features.get(2 ** level)
  if (!value) throw new Error(`backbone returned no stride-${2 ** level} features`)
  return value
}

function upsample2x(x: tf.Tensor4D): tf.Tensor4D {
  return tf.image.resizeNearestNeighbor(x, [x.shape[1] * 2, x.shape[2] * 2])
}

function downsample2x(x: tf.Tensor4D): tf.Tensor4D {
  return tf.maxPool(x, 3, 2, 'same')
}
