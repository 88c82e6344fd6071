// The shape facts of one NHWC 2-D convolution, as the gradient kernels need them.
import { backend_util } from '@tensorflow/tfjs-core'

export type PadAttr = 'same' | 'valid' | number | backend_util.ExplicitPadding

export interface ConvGeometry {
  batch: number
  inHeight: number
  inWidth: number
  inChannels: number
  outHeight: number
  outWidth: number
  /** Output channels; for depthwise convolutions inChannels × channelMultiplier. */
  outChannels: number
  channelMultiplier: number
  filterHeight: number
  filterWidth: number
  strideHeight: number
  strideWidth: number
  dilationHeight: number
  dilationWidth: number
  /** Forward relation: input row = outRow × strideHeight + filterRow × dilationHeight − padTop. */
  padTop: number
  padLeft: number
}

type Pair = number | [number, number]

export function convGeometry(
  xShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  strides: Pair,
  dilations: Pair,
  pad: PadAttr,
  dimRoundingMode: 'floor' | 'round' | 'ceil' | undefined,
  depthwise: boolean
): ConvGeometry {
  const info = backend_util.computeConv2DInfo(
    xShape,
    filterShape,
    strides,
    dilations,
    pad,
    dimRoundingMode,
    depthwise,
    'channelsLast'
  )
  return {
    batch: info.batchSize,
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    inChannels: info.inChannels,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    outChannels: info.outChannels,
    channelMultiplier: depthwise ? filterShape[3] : 1,
    filterHeight: info.filterHeight,
    filterWidth: info.filterWidth,
    strideHeight: info.strideHeight,
    strideWidth: info.strideWidth,
    dilationHeight: info.dilationHeight,
    dilationWidth: info.dilationWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left
  }
}

/** TensorFlow's rule, checked by tfjs-core for the forward op too: strides or dilations must be 1. */
export function assertStridesOrDilationsOne(g: ConvGeometry, kernelName: string): void {
  const strided = g.strideHeight > 1 || g.strideWidth > 1
  const dilated = g.dilationHeight > 1 || g.dilationWidth > 1
  if (strided && dilated) throw new Error(`${kernelName}: either strides or dilations must be 1`)
}
