// ResNet-18/34 (He et al. 2016) with basic blocks and a width multiplier. Plain convolutions only,
// so it trains on backends that lack depthwise-convolution gradients. Keras ships no basic-block
// ResNet; layers carry the names keras.applications' resnet.py gives its blocks (`conv1_conv`,
// `conv2_block1_1_conv`, `_2_`, `_0_` for the shortcut, `_bn` for the norms), which Keras ports of
// ResNet-18/34 written in that style use; other names import through a mapping file (pretrained.ts).
import * as tf from '@tensorflow/tfjs-core'
import {
  Backbone,
  makeDivisible,
  type BackboneOptions,
  type BackboneOutput,
  type ModuleGroup
} from './backbone'
import { Conv2d, ConvBn, globalAvgPool } from './layers'
import { Module, type ForwardOptions } from './module'

export type ResNetDepth = 18 | 34

const BLOCKS: Record<ResNetDepth, number[]> = { 18: [2, 2, 2, 2], 34: [3, 4, 6, 3] }
const CHANNELS = [64, 128, 256, 512]

export class BasicBlock extends Module {
  readonly conv1: ConvBn
  readonly conv2: ConvBn
  readonly shortcut: ConvBn | null

  constructor(inChannels: number, outChannels: number, stride: number, sourcePrefix: string) {
    super()
    this.conv1 = this.addChild(
      'conv1',
      new ConvBn(new Conv2d(inChannels, outChannels, 3, { stride }), 'relu')
    )
    this.conv2 = this.addChild('conv2', new ConvBn(new Conv2d(outChannels, outChannels, 3), 'linear'))
    const projects = stride !== 1 || inChannels !== outChannels
    this.shortcut = projects
      ? this.addChild('shortcut', new ConvBn(new Conv2d(inChannels, outChannels, 1, { stride }), 'linear'))
      : null
    this.conv1.setSourceNames(`${sourcePrefix}_1_conv`, `${sourcePrefix}_1_bn`)
    this.conv2.setSourceNames(`${sourcePrefix}_2_conv`, `${sourcePrefix}_2_bn`)
    this.shortcut?.setSourceNames(`${sourcePrefix}_0_conv`, `${sourcePrefix}_0_bn`)
  }

  forward(x: tf.Tensor4D, options: ForwardOptions): tf.Tensor4D {
    const y = this.conv2.forward(this.conv1.forward(x, options), options)
    return tf.relu(tf.add(y, this.shortcut ? this.shortcut.forward(x, options) : x))
  }
}

export class ResNetStage extends Module {
  readonly blocks: BasicBlock[] = []

  /** `sourceName`: Keras' stack name, `conv2` for the first stage. */
  constructor(inChannels: number, outChannels: number, count: number, stride: number, sourceName: string) {
    super()
    for (let i = 0; i < count; i++) {
      this.blocks.push(
        this.addChild(
          `blocks.${i}`,
          new BasicBlock(
            i === 0 ? inChannels : outChannels,
            outChannels,
            i === 0 ? stride : 1,
            `${sourceName}_block${i + 1}`
          )
        )
      )
    }
  }

  forward(x: tf.Tensor4D, options: ForwardOptions): tf.Tensor4D {
    return this.blocks.reduce((y, block) => block.forward(y, options), x)
  }
}

export class ResNet extends Backbone {
  readonly stem: ConvBn
  readonly layers: ResNetStage[] = []
  readonly featureChannels = new Map<number, number>()
  readonly pooledChannels: number

  constructor(depth: ResNetDepth, options: BackboneOptions) {
    super()
    const channels = CHANNELS.map((c) => makeDivisible(c * options.widthMultiplier))
    this.stem = this.addChild(
      'stem',
      new ConvBn(new Conv2d(options.inputChannels, channels[0], 7, { stride: 2 }), 'relu')
    )
    this.stem.setSourceNames('conv1_conv', 'conv1_bn')
    let inChannels = channels[0]
    BLOCKS[depth].forEach((count, i) => {
      this.layers.push(
        this.addChild(
          `layer${i + 1}`,
          new ResNetStage(inChannels, channels[i], count, i === 0 ? 1 : 2, `conv${i + 2}`)
        )
      )
      this.featureChannels.set(4 << i, channels[i])
      inChannels = channels[i]
    })
    this.pooledChannels = channels[3]
  }

  stages(): ModuleGroup[] {
    return [
      { name: 'stem', modules: [this.stem] },
      ...this.layers.map((layer, i) => ({ name: `layer${i + 1}`, modules: [layer] }))
    ]
  }

  forward(x: tf.Tensor4D, options: ForwardOptions): BackboneOutput {
    const features = new Map<number, tf.Tensor4D>()
    let y = tf.maxPool(this.stem.forward(x, options), 3, 2, 'same')
    this.layers.forEach((layer, i) => {
      y = layer.forward(y, options)
      features.set(4 << i, y)
    })
    return { features, pooled: globalAvgPool(y) }
  }
}
