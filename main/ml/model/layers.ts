// Building blocks (NHWC, float32, 'same' padding). Weight names follow Keras (`kernel`,
// `depthwise_kernel`, `gamma`, `moving_mean`, ...) so pretrained TF.js Layers weights map by name.
import * as tf from '@tensorflow/tfjs-core'
import { Module, type ForwardOptions } from './module'
import { constant, heConvKernel, truncatedNormal, uniform } from './init'
import { batchNormTraining, swish } from './ops'

export type Activation = 'linear' | 'relu' | 'relu6' | 'swish' | 'sigmoid'

export function activate<T extends tf.Tensor>(x: T, activation: Activation): T {
  switch (activation) {
    case 'linear':
      return x
    case 'relu':
      return tf.relu(x)
    case 'relu6':
      return tf.relu6(x)
    case 'sigmoid':
      return tf.sigmoid(x)
    case 'swish':
      return swish(x)
  }
}

/** Activations tfjs can fuse into a conv kernel (swish is applied after the fused conv). */
function fusable(activation: Activation): 'linear' | 'relu' | 'relu6' | 'sigmoid' | null {
  return activation === 'swish' ? null : activation
}

/** A convolution that can absorb a per-output-channel affine map (a folded batch norm) into its kernel. */
export interface AffineFoldable {
  readonly outChannels: number
  forward(x: tf.Tensor4D): tf.Tensor4D
  /** conv(x) * scale + shift, then the activation, in one fused kernel where tfjs allows. */
  forwardAffine(x: tf.Tensor4D, scale: tf.Tensor1D, shift: tf.Tensor1D, activation: Activation): tf.Tensor4D
}

export interface ConvOptions {
  stride?: number
  bias?: boolean
  /** Normal(0, std) kernel instead of He init: output layers start near their bias (e.g. 0.01). */
  kernelStd?: number
  /** Initial bias value (e.g. the focal-loss prior for a class output). */
  biasInit?: number
}

export class Conv2d extends Module implements AffineFoldable {
  readonly kernel: tf.Variable
  readonly bias: tf.Variable | null
  readonly stride: number

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number,
    options: ConvOptions = {}
  ) {
    super()
    this.stride = options.stride ?? 1
    const shape = [kernelSize, kernelSize, inChannels, outChannels] as const
    this.kernel = this.addParam(
      'kernel',
      shape,
      options.kernelStd ? truncatedNormal(shape, options.kernelStd) : heConvKernel(shape)
    )
    this.bias = options.bias
      ? this.addParam('bias', [outChannels], constant([outChannels], options.biasInit ?? 0))
      : null
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    if (this.isPointwise) return this.pointwise(x, this.kernel, this.bias ?? undefined, 'linear')
    if (this.bias)
      return tf.fused.conv2d({
        x,
        filter: this.kernel as tf.Tensor4D,
        strides: this.stride,
        pad: 'same',
        bias: this.bias
      })
    return tf.conv2d(x, this.kernel as tf.Tensor4D, this.stride, 'same')
  }

  forwardAffine(x: tf.Tensor4D, scale: tf.Tensor1D, shift: tf.Tensor1D, activation: Activation): tf.Tensor4D {
    const filter = tf.mul(this.kernel, scale) as tf.Tensor4D
    const bias = this.bias ? tf.add(shift, tf.mul(this.bias, scale)) : shift
    const fusedActivation = fusable(activation) ?? 'linear'
    const y = this.isPointwise
      ? this.pointwise(x, filter, bias, fusedActivation)
      : tf.fused.conv2d({ x, filter, strides: this.stride, pad: 'same', bias, activation: fusedActivation })
    return fusable(activation) ? y : activate(y, activation)
  }

  /** A 1x1, stride-1 convolution is a matrix product over pixels. */
  private get isPointwise(): boolean {
    return this.kernelSize === 1 && this.stride === 1
  }

  /**
   * matMul instead of conv2d for 1x1 convs: the same maths, but the backward pass is another matMul,
   * which every backend does fast (the CPU backend's Conv2DBackpropFilter is ~50x slower).
   */
  private pointwise(
    x: tf.Tensor4D,
    kernel: tf.Tensor,
    bias: tf.Tensor | undefined,
    activation: 'linear' | 'relu' | 'relu6' | 'sigmoid'
  ): tf.Tensor4D {
    const [batch, height, width, channels] = x.shape
    const y = tf.fused.matMul({
      a: tf.reshape(x, [batch * height * width, channels]),
      b: tf.reshape(kernel, [channels, this.outChannels]),
      bias,
      activation
    })
    return tf.reshape(y, [batch, height, width, this.outChannels])
  }
}

export class DepthwiseConv2d extends Module implements AffineFoldable {
  readonly kernel: tf.Variable
  readonly stride: number

  constructor(
    readonly channels: number,
    readonly kernelSize: number,
    options: { stride?: number } = {}
  ) {
    super()
    this.stride = options.stride ?? 1
    const shape = [kernelSize, kernelSize, channels, 1] as const
    this.kernel = this.addParam('depthwise_kernel', shape, heConvKernel(shape))
  }

  get outChannels(): number {
    return this.channels
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.depthwiseConv2d(x, this.kernel as tf.Tensor4D, this.stride, 'same')
  }

  forwardAffine(x: tf.Tensor4D, scale: tf.Tensor1D, shift: tf.Tensor1D, activation: Activation): tf.Tensor4D {
    const filter = tf.mul(this.kernel, tf.reshape(scale, [this.channels, 1])) as tf.Tensor4D
    const y = tf.fused.depthwiseConv2d({
      x,
      filter,
      strides: this.stride,
      pad: 'same',
      bias: shift,
      activation: fusable(activation) ?? 'linear'
    })
    return fusable(activation) ? y : activate(y, activation)
  }
}

/** Depthwise 3x3 then pointwise 1x1 (EfficientDet's SeparableConv2D). */
export class SeparableConv2d extends Module implements AffineFoldable {
  readonly depthwise: DepthwiseConv2d
  readonly pointwise: Conv2d

  constructor(inChannels: number, outChannels: number, options: ConvOptions & { kernelSize?: number } = {}) {
    super()
    this.depthwise = this.addChild(
      'depthwise',
      new DepthwiseConv2d(inChannels, options.kernelSize ?? 3, { stride: options.stride })
    )
    this.pointwise = this.addChild(
      'pointwise',
      new Conv2d(inChannels, outChannels, 1, {
        bias: options.bias,
        biasInit: options.biasInit,
        kernelStd: options.kernelStd
      })
    )
  }

  get outChannels(): number {
    return this.pointwise.outChannels
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return this.pointwise.forward(this.depthwise.forward(x))
  }

  forwardAffine(x: tf.Tensor4D, scale: tf.Tensor1D, shift: tf.Tensor1D, activation: Activation): tf.Tensor4D {
    return this.pointwise.forwardAffine(this.depthwise.forward(x), scale, shift, activation)
  }
}

export interface BatchNormOptions {
  /** Running-stat decay per step, Keras convention: running = momentum * running + (1 - momentum) * batch. */
  momentum?: number
  epsilon?: number
}

export class BatchNorm extends Module {
  readonly gamma: tf.Variable
  readonly beta: tf.Variable
  readonly movingMean: tf.Variable
  readonly movingVariance: tf.Variable
  /** Mutable so a detector can set it from its config after building. */
  momentum: number
  readonly epsilon: number
  /** Frozen: normalise with the running statistics and never update them, even in training mode. */
  statsFrozen = false

  constructor(
    readonly channels: number,
    options: BatchNormOptions = {}
  ) {
    super()
    this.momentum = options.momentum ?? 0.99
    this.epsilon = options.epsilon ?? 1e-3
    this.gamma = this.addParam('gamma', [channels], constant([channels], 1))
    this.beta = this.addParam('beta', [channels], constant([channels], 0))
    this.movingMean = this.addParam('moving_mean', [channels], constant([channels], 0), 'state')
    this.movingVariance = this.addParam('moving_variance', [channels], constant([channels], 1), 'state')
  }

  /** True when this call normalises with batch statistics (and updates the running ones). */
  usesBatchStats(options: ForwardOptions): boolean {
    return options.training && !this.statsFrozen
  }

  forward(x: tf.Tensor4D, options: ForwardOptions): tf.Tensor4D {
    return this.forwardActivated(x, options, 'linear')
  }

  /** Batch norm then `activation`; in training mode one differentiable op (see ops.ts). */
  forwardActivated(x: tf.Tensor4D, options: ForwardOptions, activation: Activation): tf.Tensor4D {
    if (!this.usesBatchStats(options)) {
      const y = tf.batchNorm4d(
        x,
        this.movingMean as tf.Tensor1D,
        this.movingVariance as tf.Tensor1D,
        this.beta as tf.Tensor1D,
        this.gamma as tf.Tensor1D,
        this.epsilon
      )
      return activate(y, activation)
    }
    const { y, mean, variance } = batchNormTraining(x, this.gamma, this.beta, this.epsilon, activation)
    this.updateRunningStats(mean, variance)
    tf.dispose([mean, variance])
    return y
  }

  /** The running-stat batch norm as y = x * scale + shift, for folding into the preceding conv. */
  folded(): { scale: tf.Tensor1D; shift: tf.Tensor1D } {
    const scale = tf.mul(this.gamma, tf.rsqrt(tf.add(this.movingVariance, this.epsilon))) as tf.Tensor1D
    const shift = tf.sub(this.beta, tf.mul(this.movingMean, scale)) as tf.Tensor1D
    return { scale, shift }
  }

  private updateRunningStats(mean: tf.Tensor1D, variance: tf.Tensor1D): void {
    const m = this.momentum
    // assign() is not differentiated, so the running stats never receive gradients
    this.movingMean.assign(tf.add(tf.mul(this.movingMean, m), tf.mul(mean, 1 - m)))
    this.movingVariance.assign(tf.add(tf.mul(this.movingVariance, m), tf.mul(variance, 1 - m)))
  }
}

/** conv -> batch norm -> activation; at inference (or with frozen stats) the norm folds into the conv. */
export class ConvBn extends Module {
  readonly conv: AffineFoldable & Module
  readonly bn: BatchNorm

  constructor(
    conv: AffineFoldable & Module,
    readonly activation: Activation,
    bnOptions: BatchNormOptions = {},
    names: { conv?: string; bn?: string } = {}
  ) {
    super()
    this.conv = this.addChild(names.conv ?? 'conv', conv)
    this.bn = this.addChild(names.bn ?? 'bn', new BatchNorm(conv.outChannels, bnOptions))
  }

  /** Names the Keras layers holding this conv's and this norm's pretrained weights. */
  setSourceNames(conv: string, bn: string): void {
    this.conv.sourceName = conv
    this.bn.sourceName = bn
  }

  forward(x: tf.Tensor4D, options: ForwardOptions): tf.Tensor4D {
    if (this.bn.usesBatchStats(options))
      return this.bn.forwardActivated(this.conv.forward(x), options, this.activation)
    const { scale, shift } = this.bn.folded()
    return this.conv.forwardAffine(x, scale, shift, this.activation)
  }
}

export class Dense extends Module {
  readonly kernel: tf.Variable
  readonly bias: tf.Variable

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: { biasInit?: number } = {}
  ) {
    super()
    this.kernel = this.addParam(
      'kernel',
      [inFeatures, outFeatures],
      uniform([inFeatures, outFeatures], Math.sqrt(6 / (inFeatures + outFeatures)))
    )
    this.bias = this.addParam('bias', [outFeatures], constant([outFeatures], options.biasInit ?? 0))
  }

  forward(x: tf.Tensor2D): tf.Tensor2D {
    return tf.fused.matMul({ a: x, b: this.kernel as tf.Tensor2D, bias: this.bias }) as tf.Tensor2D
  }
}

/** Global average pool over height and width: [B, H, W, C] -> [B, C]. */
export function globalAvgPool(x: tf.Tensor4D): tf.Tensor2D {
  return tf.mean(x, [1, 2]) as tf.Tensor2D
}

/**
 * Randomly drops a whole residual branch per sample (stochastic depth), scaling survivors by
 * 1/keep so the expectation matches inference.
 */
export function dropPath(x: tf.Tensor4D, rate: number, options: ForwardOptions): tf.Tensor4D {
  if (!options.training || rate <= 0) return x
  const keep = 1 - rate
  const mask = tf.floor(tf.add(tf.randomUniform([x.shape[0], 1, 1, 1]), keep))
  return tf.mul(x, tf.div(mask, keep))
}
