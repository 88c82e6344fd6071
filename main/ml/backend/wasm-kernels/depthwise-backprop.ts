// The two depthwise-convolution gradients the WASM backend lacks (needed by MobileNet/EfficientNet
// style backbones). dx reuses the phase decomposition of input-gradient.ts with XNNPACK's
// depthwise convolution; dW is a per-channel correlation, accumulated in float64 like the CPU backend.
import {
  DepthwiseConv2dNativeBackpropFilter,
  DepthwiseConv2dNativeBackpropInput,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo
} from '@tensorflow/tfjs-core'
import { assertStridesOrDilationsOne, convGeometry, type ConvGeometry, type PadAttr } from './conv-geometry'
import { allocate, f32, type BackendWasm } from './heap'
import { inputGradient } from './input-gradient'

interface DepthwiseAttrs {
  strides: number | [number, number]
  pad: PadAttr
  dilations?: number | [number, number]
  dimRoundingMode?: 'floor' | 'round' | 'ceil'
  filterShape?: [number, number, number, number]
  inputShape?: [number, number, number, number]
}

/** dW[kh,kw,c,m] = Σ_{b,oh,ow} x[b, oh·sh + kh·dh − pt, ow·sw + kw·dw − pl, c] · dy[b,oh,ow,c·M+m]. */
export function depthwiseFilterGradient(
  backend: BackendWasm,
  x: TensorInfo,
  dy: TensorInfo,
  g: ConvGeometry
): TensorInfo {
  assertStridesOrDilationsOne(g, 'DepthwiseConv2dNativeBackpropFilter')
  const {
    batch: B,
    inHeight: H,
    inWidth: W,
    inChannels: C,
    outHeight: OH,
    outWidth: OW,
    channelMultiplier: M
  } = g
  const { filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw } = g
  const { dilationHeight: dh, dilationWidth: dw, padTop, padLeft } = g
  const CM = C * M
  const sums = new Float64Array(KH * KW * CM)
  const out = allocate(backend, [KH, KW, C, M])
  const xv = f32(backend, x)
  const dyv = f32(backend, dy)
  for (let b = 0; b < B; b++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let fh = 0; fh < KH; fh++) {
        const ih = oh * sh + fh * dh - padTop
        if (ih < 0 || ih >= H) continue
        const xRow = (b * H + ih) * W * C
        const dyRow = (b * OH + oh) * OW * CM
        for (let fw = 0; fw < KW; fw++) {
          const shift = fw * dw - padLeft
          const owLo = shift >= 0 ? 0 : Math.min(OW, Math.ceil(-shift / sw))
          const owHi = W - 1 - shift < 0 ? 0 : Math.min(OW, Math.floor((W - 1 - shift) / sw) + 1)
          const tap = (fh * KW + fw) * CM
          let ow = owLo
          if (M === 1) {
            // Four output pixels per pass: a quarter of the accumulator loads and stores.
            for (; ow + 4 <= owHi; ow += 4) {
              const x0 = xRow + (ow * sw + shift) * C
              const x1 = x0 + sw * C
              const x2 = x1 + sw * C
              const x3 = x2 + sw * C
              const d0 = dyRow + ow * CM
              for (let c = 0; c < C; c++) {
                sums[tap + c]! +=
                  xv[x0 + c]! * dyv[d0 + c]! +
                  xv[x1 + c]! * dyv[d0 + C + c]! +
                  (xv[x2 + c]! * dyv[d0 + 2 * C + c]! + xv[x3 + c]! * dyv[d0 + 3 * C + c]!)
              }
            }
          }
          for (; ow < owHi; ow++) {
            const xPixel = xRow + (ow * sw + shift) * C
            const dyPixel = dyRow + ow * CM
            if (M === 1) {
              for (let c = 0; c < C; c++) sums[tap + c]! += xv[xPixel + c]! * dyv[dyPixel + c]!
            } else {
              for (let c = 0; c < C; c++) {
                const xValue = xv[xPixel + c]!
                const base = c * M
                for (let m = 0; m < M; m++) sums[tap + base + m]! += xValue * dyv[dyPixel + base + m]!
              }
            }
          }
        }
      }
    }
  }
  f32(backend, out).set(sums)
  return out
}

function depthwiseBackpropFilter({ inputs, backend, attrs }: Parameters<KernelFunc>[0]): TensorInfo {
  const { strides, pad, dilations, dimRoundingMode, filterShape } = attrs as unknown as DepthwiseAttrs
  const x = inputs.x!
  const g = convGeometry(
    x.shape as [number, number, number, number],
    filterShape!,
    strides,
    dilations ?? 1,
    pad,
    dimRoundingMode,
    true
  )
  return depthwiseFilterGradient(backend as BackendWasm, x, inputs.dy!, g)
}

function depthwiseBackpropInput({ inputs, backend, attrs }: Parameters<KernelFunc>[0]): TensorInfo {
  const { strides, pad, dilations, dimRoundingMode, inputShape } = attrs as unknown as DepthwiseAttrs
  const filter = inputs.filter!
  const g = convGeometry(
    inputShape!,
    filter.shape as [number, number, number, number],
    strides,
    dilations ?? 1,
    pad,
    dimRoundingMode,
    true
  )
  return inputGradient(backend as BackendWasm, inputs.dy!, filter, g, true)
}

export const depthwiseBackpropFilterConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropFilter,
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropFilter
}

export const depthwiseBackpropInputConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropInput,
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropInput
}
