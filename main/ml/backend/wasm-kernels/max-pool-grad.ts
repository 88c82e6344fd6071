// MaxPoolGrad for the WASM backend. The stock kernel seeds its running maximum with
// numeric_limits<float>::min() (the smallest positive float, not the lowest), so any window whose
// values are all ≤ 0 — e.g. all-zero windows after a ReLU — sends its gradient to the wrong pixel.
// Like the CPU backend, this routes each output's gradient to the first maximum of its window.
import {
  backend_util,
  MaxPoolGrad,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo
} from '@tensorflow/tfjs-core'
import type { PadAttr } from './conv-geometry'
import { allocate, f32, type BackendWasm } from './heap'

interface MaxPoolGradAttrs {
  filterSize: number | [number, number]
  strides: number | [number, number]
  pad: PadAttr
  dimRoundingMode?: 'floor' | 'round' | 'ceil'
}

function maxPoolGrad({ inputs, backend, attrs }: Parameters<KernelFunc>[0]): TensorInfo {
  const wasm = backend as BackendWasm
  const { dy, input } = inputs as { dy: TensorInfo; input: TensorInfo }
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as MaxPoolGradAttrs
  const info = backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    filterSize,
    strides,
    1,
    pad,
    dimRoundingMode
  )
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info
  const { effectiveFilterHeight: KH, effectiveFilterWidth: KW } = info
  const { top: padTop, left: padLeft } = info.padInfo

  const dx = allocate(wasm, input.shape)
  const x = f32(wasm, input)
  const dyValues = f32(wasm, dy)
  const out = f32(wasm, dx)
  out.fill(0)
  const best = new Float32Array(C)
  const where = new Int32Array(C)
  for (let b = 0; b < B; b++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        best.fill(-Infinity)
        where.fill(-1)
        for (let fh = 0; fh < KH; fh += dh) {
          const ih = oh * sh + fh - padTop
          if (ih < 0 || ih >= H) continue
          for (let fw = 0; fw < KW; fw += dw) {
            const iw = ow * sw + fw - padLeft
            if (iw < 0 || iw >= W) continue
            const pixel = ((b * H + ih) * W + iw) * C
            for (let c = 0; c < C; c++) {
              const value = x[pixel + c]!
              // strictly greater: the first maximum wins, as on the CPU backend (NaN never wins)
              if (value > best[c]! || where[c] === -1) {
                best[c] = value
                where[c] = pixel + c
              }
            }
          }
        }
        const dyPixel = ((b * OH + oh) * OW + ow) * C
        for (let c = 0; c < C; c++) if (where[c]! >= 0) out[where[c]!]! += dyValues[dyPixel + c]!
      }
    }
  }
  return dx
}

export const maxPoolGradConfig: KernelConfig = {
  kernelName: MaxPoolGrad,
  backendName: 'wasm',
  kernelFunc: maxPoolGrad
}
