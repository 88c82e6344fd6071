// MobileNetV2 (Sandler et al. 2018): inverted residuals with linear bottlenecks, ReLU6, width
// multiplier. Layer names follow keras.applications.MobileNetV2 for pretrained import.
import * as tf from '@tensorflow/tfjs-core'
import { StagedBackbone, makeDivisible, type BackboneOptions } from './backbone'
import { Conv2d, ConvBn, DepthwiseConv2d } from './layers'
import { Module, type ForwardOptions } from './module'

/** [expansion t, channels c, repeats n, first stride s] per stage, from the paper's table 2. */
const STAGES: Array<[number, number, number, number]> = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1]
]
const FEATURE_STAGES: Array<[stride: number, stage: number]> = [
  [4, 1],
  [8, 2],
  [16, 4],
  [32, 6]
]

export class InvertedResidual extends Module {
  readonly expandConv: ConvBn | null
  readonly depthwise: ConvBn
  readonly project: ConvBn
  readonly residual: boolean

  constructor(
    inChannels: number,
    outChannels: number,
    stride: number,
    expansion: number,
    sourcePrefix: string
  ) {
    super()
    const hidden = inChannels * expansion
    this.expandConv =
      expansion === 1 ? null : this.addChild('expand', new ConvBn(new Conv2d(inChannels, hidden, 1), 'relu6'))
    this.depthwise = this.addChild(
      'depthwise',
      new ConvBn(new DepthwiseConv2d(hidden, 3, { stride }), 'relu6')
    )
    this.project = this.addChild('project', new ConvBn(new Conv2d(hidden, outChannels, 1), 'linear'))
    this.residual = stride === 1 && inChannels === outChannels
    if (this.expandConv) this.expandConv.setSourceNames(`${sourcePrefix}expand`, `${sourcePrefix}expand_BN`)
    this.depthwise.setSourceNames(`${sourcePrefix}depthwise`, `${sourcePrefix}depthwise_BN`)
    this.project.setSourceNames(`${sourcePrefix}project`, `${sourcePrefix}project_BN`)
  }

  forward(x: tf.Tensor4D, options: ForwardOptions): tf.Tensor4D {
    let y = this.expandConv ? this.expandConv.forward(x, options) : x
    y = this.project.forward(this.depthwise.forward(y, options), options)
    return this.residual ? tf.add(x, y) : y
  }
}

export class MobileNetV2 extends StagedBackbone {
  readonly stem: ConvBn
  readonly blocks: InvertedResidual[] = []
  readonly top: ConvBn
  readonly featureChannels = new Map<number, number>()
  readonly pooledChannels: number
  readonly stageStarts: number[] = []
  readonly featureStages = FEATURE_STAGES

  constructor(options: BackboneOptions) {
    super()
    const alpha = options.widthMultiplier
    let channels = makeDivisible(32 * alpha)
    this.stem = this.addChild(
      'stem',
      new ConvBn(new Conv2d(options.inputChannels, channels, 3, { stride: 2 }), 'relu6')
    )
    this.stem.setSourceNames('Conv1', 'bn_Conv1')

    STAGES.forEach(([expansion, c, repeats, stride], stageIndex) => {
      this.stageStarts.push(this.blocks.length)
      const out = makeDivisible(c * alpha)
      for (let i = 0; i < repeats; i++) {
        const index = this.blocks.length
        // Keras: the first block is `expanded_conv_`, then `block_1_` ... `block_16_`
        const sourcePrefix = index === 0 ? 'expanded_conv_' : `block_${index}_`
        this.blocks.push(
          this.addChild(
            `blocks.${index}`,
            new InvertedResidual(channels, out, i === 0 ? stride : 1, expansion, sourcePrefix)
          )
        )
        channels = out
      }
      if (FEATURE_STAGES.some(([, s]) => s === stageIndex)) {
        this.featureChannels.set(FEATURE_STAGES.find(([, s]) => s === stageIndex)![0], out)
      }
    })
    this.stageStarts.push(this.blocks.length)

    // Keras keeps 1280 for alpha <= 1 (the pooled features stay rich for thin networks)
    this.pooledChannels = alpha > 1 ? makeDivisible(1280 * alpha) : 1280
    this.top = this.addChild('top', new ConvBn(new Conv2d(channels, this.pooledChannels, 1), 'relu6'))
    this.top.setSourceNames('Conv_1', 'Conv_1_bn')
  }
}
