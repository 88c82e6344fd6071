// EfficientNet B0-B3 (Tan & Le 2019): MBConv blocks with squeeze-excitation and swish, compound
// scaling by width/depth coefficients. Layer names follow keras.applications so ImageNet weights
// converted to TF.js Layers import by name.
import * as tf from '@tensorflow/tfjs-core'
import { StagedBackbone, makeDivisible, type BackboneOptions } from './backbone'
import { Conv2d, ConvBn, DepthwiseConv2d, activate, dropPath, globalAvgPool } from './layers'
import { Module, type ForwardOptions } from './module'

export type EfficientNetVariant = 'b0' | 'b1' | 'b2' | 'b3'

/** [width coefficient, depth coefficient] per variant (the paper's compound scaling). */
const COEFFICIENTS: Record<EfficientNetVariant, [number, number]> = {
  b0: [1.0, 1.0],
  b1: [1.0, 1.1],
  b2: [1.1, 1.2],
  b3: [1.2, 1.4]
}

interface StageArgs {
  kernel: number
  repeats: number
  inFilters: number
  outFilters: number
  expand: number
  stride: number
}

/** B0's seven stages; the `_stride` column puts stages 2, 3, 5 and 7 at strides 4, 8, 16, 32. */
const B0_STAGES: StageArgs[] = [
  { kernel: 3, repeats: 1, inFilters: 32, outFilters: 16, expand: 1, stride: 1 },
  { kernel: 3, repeats: 2, inFilters: 16, outFilters: 24, expand: 6, stride: 2 },
  { kernel: 5, repeats: 2, inFilters: 24, outFilters: 40, expand: 6, stride: 2 },
  { kernel: 3, repeats: 3, inFilters: 40, outFilters: 80, expand: 6, stride: 2 },
  { kernel: 5, repeats: 3, inFilters: 80, outFilters: 112, expand: 6, stride: 1 },
  { kernel: 5, repeats: 4, inFilters: 112, outFilters: 192, expand: 6, stride: 2 },
  { kernel: 3, repeats: 1, inFilters: 192, outFilters: 320, expand: 6, stride: 1 }
]
const SE_RATIO = 0.25
/** Index of the last stage at each output stride (stage outputs 24, 40, 112 and 320 channels in B0). */
const FEATURE_STAGES: Array<[stride: number, stage: number]> = [
  [4, 1],
  [8, 2],
  [16, 4],
  [32, 6]
]

export class SqueezeExcite extends Module {
  readonly reduce: Conv2d
  readonly expand: Conv2d

  constructor(channels: number, squeezed: number, sourcePrefix: string) {
    super()
    this.reduce = this.addChild('reduce', new Conv2d(channels, squeezed, 1, { bias: true }))
    this.expand = this.addChild('expand', new Conv2d(squeezed, channels, 1, { bias: true }))
    this.reduce.sourceName = `${sourcePrefix}se_reduce`
    this.expand.sourceName = `${sourcePrefix}se_expand`
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    const [batch, , , channels] = x.shape
    const squeezedShape = [this.reduce.inChannels, this.reduce.outChannels]
    // 1x1 convs on a 1x1 map are matrix products; matMul is much cheaper than conv2d here
    const hidden = activate(
      tf.add(tf.matMul(globalAvgPool(x), tf.reshape(this.reduce.kernel, squeezedShape)), this.reduce.bias!),
      'swish'
    )
    const gate = tf.sigmoid(
      tf.add(
        tf.matMul(hidden, tf.reshape(this.expand.kernel, [squeezedShape[1], squeezedShape[0]])),
        this.expand.bias!
      )
    )
    return tf.mul(x, tf.reshape(gate, [batch, 1, 1, channels]))
  }
}

export class MBConv extends Module {
  readonly expandConv: ConvBn | null
  readonly depthwise: ConvBn
  readonly se: SqueezeExcite
  readonly project: ConvBn
  readonly residual: boolean

  constructor(
    inFilters: number,
    outFilters: number,
    kernel: number,
    stride: number,
    expandRatio: number,
    readonly dropRate: number,
    sourcePrefix: string
  ) {
    super()
    const filters = inFilters * expandRatio
    this.expandConv =
      expandRatio === 1
        ? null
        : this.addChild('expand', new ConvBn(new Conv2d(inFilters, filters, 1), 'swish'))
    this.depthwise = this.addChild(
      'dwconv',
      new ConvBn(new DepthwiseConv2d(filters, kernel, { stride }), 'swish')
    )
    this.se = this.addChild(
      'se',
      new SqueezeExcite(filters, Math.max(1, Math.floor(inFilters * SE_RATIO)), sourcePrefix)
    )
    this.project = this.addChild('project', new ConvBn(new Conv2d(filters, outFilters, 1), 'linear'))
    this.residual = stride === 1 && inFilters === outFilters
    if (this.expandConv)
      this.expandConv.setSourceNames(`${sourcePrefix}expand_conv`, `${sourcePrefix}expand_bn`)
    this.depthwise.setSourceNames(`${sourcePrefix}dwconv`, `${sourcePrefix}bn`)
    this.project.setSourceNames(`${sourcePrefix}project_conv`, `${sourcePrefix}project_bn`)
  }

  forward(x: tf.Tensor4D, options: ForwardOptions): tf.Tensor4D {
    let y = this.expandConv ? this.expandConv.forward(x, options) : x
    y = this.se.forward(this.depthwise.forward(y, options))
    y = this.project.forward(y, options)
    return this.residual ? tf.add(x, dropPath(y, this.dropRate, options)) : y
  }
}

export class EfficientNet extends StagedBackbone {
  readonly stem: ConvBn
  readonly blocks: MBConv[] = []
  readonly top: ConvBn
  readonly featureChannels = new Map<number, number>()
  readonly pooledChannels: number
  /** Index of the first block of each stage, plus the total block count at the end. */
  readonly stageStarts: number[] = []
  readonly featureStages = FEATURE_STAGES

  constructor(variant: EfficientNetVariant, options: BackboneOptions) {
    super()
    const [width, depth] = COEFFICIENTS[variant]
    const filters = (n: number) => makeDivisible(n * width * options.widthMultiplier)
    const repeats = (n: number) => Math.ceil(n * depth * options.depthMultiplier)

    this.stem = this.addChild(
      'stem',
      new ConvBn(new Conv2d(options.inputChannels, filters(32), 3, { stride: 2 }), 'swish')
    )
    this.stem.setSourceNames('stem_conv', 'stem_bn')

    const totalBlocks = B0_STAGES.reduce((n, s) => n + repeats(s.repeats), 0)
    B0_STAGES.forEach((stage, stageIndex) => {
      this.stageStarts.push(this.blocks.length)
      const count = repeats(stage.repeats)
      for (let i = 0; i < count; i++) {
        const inFilters = filters(i === 0 ? stage.inFilters : stage.outFilters)
        // Keras names blocks `block<stage><letter>_`: block1a, block2a, block2b, ...
        const sourcePrefix = `block${stageIndex + 1}${String.fromCharCode(97 + i)}_`
        const dropRate = (options.dropConnectRate * this.blocks.length) / totalBlocks
        const block = new MBConv(
          inFilters,
          filters(stage.outFilters),
          stage.kernel,
          i === 0 ? stage.stride : 1,
          stage.expand,
          dropRate,
          sourcePrefix
        )
        this.blocks.push(this.addChild(`blocks.${this.blocks.length}`, block))
      }
    })
    this.stageStarts.push(this.blocks.length)
    for (const [stride, stage] of FEATURE_STAGES)
      this.featureChannels.set(stride, filters(B0_STAGES[stage].outFilters))

    this.pooledChannels = filters(1280)
    this.top = this.addChild(
      'top',
      new ConvBn(new Conv2d(filters(B0_STAGES[6].outFilters), this.pooledChannels, 1), 'swish')
    )
    this.top.setSourceNames('top_conv', 'top_bn')
  }
}
