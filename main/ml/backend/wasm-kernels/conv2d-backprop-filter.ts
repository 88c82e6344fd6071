// Conv2DBackpropFilter for the WASM backend (which has none). Both methods end in XNNPACK's
// fully-connected GEMM (the stock BatchMatMul kernel when neither side is transposed):
// - shifted planes (filter-gradient-planes.ts): one rearranging pass over x, one GEMM per tap;
//   best for large feature maps with ≥ 8 channels;
// - im2col: dW = colsᵀ · dy with colsᵀ filled in a tight JS loop (9 copies of x for 3×3); best for
//   small maps (where the planes' padding costs more) and single-channel inputs.
import {
  Conv2DBackpropFilter,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo
} from '@tensorflow/tfjs-core'
import { convGeometry, type ConvGeometry, type PadAttr } from './conv-geometry'
import { alias, allocate, f32, release, releaseAlias, reshapeInfo, runKernel, type BackendWasm } from './heap'
import { planeFilterGradient, planeOverhead } from './filter-gradient-planes'
import { toNhwc } from './layout'

/** Floats in one im2col chunk (4 MB, cache-friendly); larger problems run in row chunks and accumulate. */
export const COLUMN_CHUNK_FLOATS = 1024 * 1024

/** Measured here: planes beat im2col up to about 1.2× padding overhead, from 8 input channels. */
const PLANE_MIN_CHANNELS = 8
const PLANE_MAX_OVERHEAD = 1.2

/** dW [KH,KW,Ci,Co] of a (dilated, strided, padded) NHWC convolution. */
export function filterGradient(
  backend: BackendWasm,
  x: TensorInfo,
  dy: TensorInfo,
  g: ConvGeometry
): TensorInfo {
  if (g.inChannels >= PLANE_MIN_CHANNELS && planeOverhead(g) <= PLANE_MAX_OVERHEAD)
    return planeFilterGradient(backend, x, dy, g)
  return im2colFilterGradient(backend, x, dy, g)
}

export function im2colFilterGradient(
  backend: BackendWasm,
  x: TensorInfo,
  dy: TensorInfo,
  g: ConvGeometry,
  chunkFloats = COLUMN_CHUNK_FLOATS
): TensorInfo {
  const { filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co, outWidth: ow } = g
  const depth = kh * kw * ci
  const rows = g.batch * g.outHeight
  const rowsPerChunk = Math.max(1, Math.min(rows, Math.floor(chunkFloats / (depth * ow))))
  let result: TensorInfo | null = null
  for (let r0 = 0; r0 < rows; r0 += rowsPerChunk) {
    const r1 = Math.min(rows, r0 + rowsPerChunk)
    const length = (r1 - r0) * ow
    const cols = allocate(backend, [1, depth, length])
    fillColumnsTransposed(f32(backend, x), f32(backend, cols), g, r0, r1)
    // An alias, not dy itself: XNNPACK caches a packed copy of its weights operand per tensor id.
    const dyRows = alias(backend, dy, r0 * ow * co, [1, length, co])
    const part = runKernel(
      backend,
      'BatchMatMul',
      { a: cols, b: dyRows },
      { transposeA: false, transposeB: false }
    )
    releaseAlias(backend, dyRows)
    release(backend, cols)
    if (!result) {
      result = part
    } else {
      const sum = f32(backend, result)
      const add = f32(backend, part)
      for (let i = 0; i < sum.length; i++) sum[i] += add[i]
      release(backend, part)
    }
  }
  return reshapeInfo(result!, [kh, kw, ci, co])
}

/**
 * colsᵀ[(fh·KW + fw)·Ci + c][p] = x at the input pixel that filter tap (fh, fw) sees for output
 * pixel p, or 0 in the padding; p runs over output rows r0..r1 (batch-major) and columns.
 * Loop order keeps one input row hot in cache while every tap reads it.
 */
export function fillColumnsTransposed(
  x: Float32Array,
  cols: Float32Array,
  g: ConvGeometry,
  r0: number,
  r1: number
): void {
  const { inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = g
  const { filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw } = g
  const { dilationHeight: dh, dilationWidth: dw, padTop, padLeft } = g
  const length = (r1 - r0) * OW
  const step = sw * C
  for (let r = r0; r < r1; r++) {
    const b = Math.floor(r / OH)
    const oh = r - b * OH
    const p0 = (r - r0) * OW
    for (let fh = 0; fh < KH; fh++) {
      const ih = oh * sh + fh * dh - padTop
      const rowInside = ih >= 0 && ih < H
      const xRow = (b * H + ih) * W * C
      for (let fw = 0; fw < KW; fw++) {
        const shift = fw * dw - padLeft
        const owLo = shift >= 0 ? 0 : Math.min(OW, Math.ceil(-shift / sw))
        const owHi = W - 1 - shift < 0 ? 0 : Math.min(OW, Math.floor((W - 1 - shift) / sw) + 1)
        for (let c = 0; c < C; c++) {
          const dst = ((fh * KW + fw) * C + c) * length + p0
          if (!rowInside || owLo >= owHi) {
            cols.fill(0, dst, dst + OW)
            continue
          }
          for (let o = 0; o < owLo; o++) cols[dst + o] = 0
          let src = xRow + (owLo * sw + shift) * C + c
          for (let o = owLo; o < owHi; o++) {
            cols[dst + o] = x[src]
            src += step
          }
          for (let o = owHi; o < OW; o++) cols[dst + o] = 0
        }
      }
    }
  }
}

interface Conv2DBackpropFilterAttrs {
  strides: number | [number, number]
  pad: PadAttr
  dataFormat: 'NHWC' | 'NCHW'
  dimRoundingMode?: 'floor' | 'round' | 'ceil'
  filterShape: [number, number, number, number]
}

function conv2DBackpropFilter({ inputs, backend, attrs }: Parameters<KernelFunc>[0]): TensorInfo {
  const wasm = backend as BackendWasm
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } =
    attrs as unknown as Conv2DBackpropFilterAttrs
  const x = toNhwc(wasm, inputs.x!, dataFormat)
  const dy = toNhwc(wasm, inputs.dy!, dataFormat)
  try {
    const g = convGeometry(
      x.info.shape as [number, number, number, number],
      filterShape,
      strides,
      1,
      pad,
      dimRoundingMode,
      false
    )
    return filterGradient(wasm, x.info, dy.info, g)
  } finally {
    x.dispose()
    dy.dispose()
  }
}

export const conv2DBackpropFilterConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilter
}
