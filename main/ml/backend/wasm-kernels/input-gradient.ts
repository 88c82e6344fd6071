// dx of a convolution (regular or depthwise) as forward XNNPACK convolutions of dy.
//
// With forward relation  q = ih + padTop = oh·s + kh·d,  dx[ih] = Σ dy[oh]·W[kh]. Split q by its
// residue r = q mod s ("phase"): each phase is an ordinary stride-1 convolution of dy with the taps
// kh ≡ r (mod s), flipped — so no zeros are inserted into dy and no multiply is wasted. Stride 1
// is the single phase r = 0 with dilation d. The phases are then interleaved into dx.
import type { TensorInfo } from '@tensorflow/tfjs-core'
import { assertStridesOrDilationsOne, type ConvGeometry } from './conv-geometry'
import { allocate, f32, release, runKernel, type BackendWasm } from './heap'

interface AxisPhase {
  /** q mod stride covered by this phase. */
  residue: number
  /** Filter indices along this axis in the sub-convolution's order (flipped). */
  taps: number[]
  /** Dilation of the sub-convolution (the forward dilation when stride is 1, else 1). */
  dilation: number
  /** First phase index m computed (q = m·stride + residue). */
  first: number
  /** Number of m computed; ≤ 0 means the phase has no input pixels. */
  length: number
  /** Padding the sub-convolution needs before/after dy along this axis; negative = crop dy. */
  padBefore: number
  padAfter: number
}

export function axisPhases(
  inSize: number,
  outSize: number,
  filterSize: number,
  stride: number,
  dilation: number,
  pad: number
): AxisPhase[] {
  if (stride === 1) {
    const taps = Array.from({ length: filterSize }, (_, t) => filterSize - 1 - t)
    const padBefore = (filterSize - 1) * dilation - pad
    return [
      {
        residue: 0,
        taps,
        dilation,
        first: pad,
        length: inSize,
        padBefore,
        padAfter: inSize - outSize - padBefore + (filterSize - 1) * dilation
      }
    ]
  }
  const phases: AxisPhase[] = []
  for (let residue = 0; residue < stride; residue++) {
    const count = residue < filterSize ? Math.ceil((filterSize - residue) / stride) : 0
    const taps = Array.from({ length: count }, (_, t) => residue + (count - 1 - t) * stride)
    const first = Math.max(0, Math.ceil((pad - residue) / stride))
    const last = Math.floor((pad + inSize - 1 - residue) / stride)
    const length = last - first + 1
    const padBefore = count - 1 - first
    phases.push({
      residue,
      taps,
      dilation: 1,
      first,
      length,
      padBefore,
      padAfter: length - outSize - padBefore + count - 1
    })
  }
  return phases
}

/**
 * dx [B,H,W,Cin] for dy [B,OH,OW,Cout] and filter [KH,KW,Cin,Cout] (regular) or
 * [KH,KW,C,M] (depthwise, Cout = C·M).
 */
export function inputGradient(
  backend: BackendWasm,
  dy: TensorInfo,
  filter: TensorInfo,
  g: ConvGeometry,
  depthwise: boolean
): TensorInfo {
  assertStridesOrDilationsOne(g, depthwise ? 'DepthwiseConv2dNativeBackpropInput' : 'Conv2DBackpropInput')
  if (depthwise && (g.strideHeight > 1 || g.strideWidth > 1)) {
    // Depthwise phases have odd sub-filters (2×2, 2×1 …) that XNNPACK runs ~10× slower than its
    // 3×3 kernel; a depthwise conv is cheap, so spend the 4× multiplies on a zero-stuffed dy instead.
    const stuffed = zeroStuffed(backend, dy, g)
    try {
      return inputGradient(
        backend,
        stuffed,
        filter,
        { ...g, strideHeight: 1, strideWidth: 1, outHeight: stuffed.shape[1]!, outWidth: stuffed.shape[2]! },
        true
      )
    } finally {
      release(backend, stuffed)
    }
  }
  const { batch: B, inHeight: H, inWidth: W, inChannels: Cin, outHeight: OH, outWidth: OW } = g
  const multiplier = depthwise ? g.channelMultiplier : 1
  const rowPhases = axisPhases(H, OH, g.filterHeight, g.strideHeight, g.dilationHeight, g.padTop)
  const colPhases = axisPhases(W, OW, g.filterWidth, g.strideWidth, g.dilationWidth, g.padLeft)

  const results: Array<{ row: AxisPhase; col: AxisPhase; out: TensorInfo }> = []
  let allCovered = true
  try {
    for (const row of rowPhases) {
      for (const col of colPhases) {
        const out = phaseConvolution(backend, dy, filter, g, row, col, depthwise)
        if (out) results.push({ row, col, out })
        else allCovered = false
      }
    }
    const single = results.length === 1 && allCovered && multiplier === 1 ? results[0]! : null
    if (single && single.out.shape[1] === H && single.out.shape[2] === W) {
      results.length = 0
      return single.out
    }
    const dx = allocate(backend, [B, H, W, Cin])
    const dxValues = f32(backend, dx)
    if (!allCovered) dxValues.fill(0)
    for (const { row, col, out } of results) {
      scatterPhase(f32(backend, out), dxValues, g, row, col, multiplier)
    }
    return dx
  } finally {
    for (const { out } of results) release(backend, out)
  }
}

/** dy with (stride − 1) zeros between its pixels: [B, (OH−1)·sh+1, (OW−1)·sw+1, C]. */
function zeroStuffed(backend: BackendWasm, dy: TensorInfo, g: ConvGeometry): TensorInfo {
  const { batch: B, outHeight: OH, outWidth: OW, outChannels: depth, strideHeight: sh, strideWidth: sw } = g
  const rows = (OH - 1) * sh + 1
  const cols = (OW - 1) * sw + 1
  const out = allocate(backend, [B, rows, cols, depth])
  const dst = f32(backend, out)
  const src = f32(backend, dy)
  dst.fill(0)
  for (let b = 0; b < B; b++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const from = ((b * OH + oh) * OW + ow) * depth
        dst.set(src.subarray(from, from + depth), ((b * rows + oh * sh) * cols + ow * sw) * depth)
      }
    }
  }
  return out
}

/** One phase's stride-1 convolution of (cropped) dy with its flipped sub-filter, or null if empty. */
function phaseConvolution(
  backend: BackendWasm,
  dy: TensorInfo,
  filter: TensorInfo,
  g: ConvGeometry,
  row: AxisPhase,
  col: AxisPhase,
  depthwise: boolean
): TensorInfo | null {
  const { batch: B, outHeight: OH, outWidth: OW, outChannels: Cout, inChannels: Cin } = g
  if (row.taps.length === 0 || col.taps.length === 0 || row.length <= 0 || col.length <= 0) return null
  const cropTop = Math.max(0, -row.padBefore)
  const cropBottom = Math.max(0, -row.padAfter)
  const cropLeft = Math.max(0, -col.padBefore)
  const cropRight = Math.max(0, -col.padAfter)
  const rows = OH - cropTop - cropBottom
  const cols = OW - cropLeft - cropRight
  if (rows <= 0 || cols <= 0) return null

  let input = dy
  if (cropTop + cropBottom + cropLeft + cropRight > 0) {
    input = runKernel(
      backend,
      'Slice',
      { x: dy },
      { begin: [0, cropTop, cropLeft, 0], size: [B, rows, cols, Cout] }
    )
  }
  const subFilter = depthwise
    ? depthwiseSubFilter(backend, filter, g, row, col)
    : regularSubFilter(backend, filter, g, row, col)
  try {
    const pad = [
      [0, 0],
      [Math.max(0, row.padBefore), Math.max(0, row.padAfter)],
      [Math.max(0, col.padBefore), Math.max(0, col.padAfter)],
      [0, 0]
    ]
    const attrs = { strides: [1, 1], pad, dilations: [row.dilation, col.dilation], dataFormat: 'NHWC' }
    const out = runKernel(
      backend,
      depthwise ? 'DepthwiseConv2dNative' : 'Conv2D',
      { x: input, filter: subFilter },
      attrs
    )
    const expected = [B, row.length, col.length, depthwise ? Cout : Cin]
    if (out.shape.some((dim, i) => dim !== expected[i])) {
      release(backend, out)
      throw new Error(`input gradient phase produced [${out.shape}] instead of [${expected}]`)
    }
    return out
  } finally {
    release(backend, subFilter)
    if (input !== dy) release(backend, input)
  }
}

/** F[t,u,co,ci] = W[taps_h[t], taps_w[u], ci, co]: flipped taps, in/out channels swapped. */
function regularSubFilter(
  backend: BackendWasm,
  filter: TensorInfo,
  g: ConvGeometry,
  row: AxisPhase,
  col: AxisPhase
): TensorInfo {
  const { filterWidth: KW, inChannels: Ci, outChannels: Co } = g
  const sub = allocate(backend, [row.taps.length, col.taps.length, Co, Ci])
  const w = f32(backend, filter)
  const f = f32(backend, sub)
  let dst = 0
  for (const kh of row.taps) {
    for (const kw of col.taps) {
      const src = (kh * KW + kw) * Ci * Co
      for (let co = 0; co < Co; co++) {
        for (let ci = 0; ci < Ci; ci++) f[dst++] = w[src + ci * Co + co]
      }
    }
  }
  return sub
}

/** F[t,u,c·M+m,0] = W[taps_h[t], taps_w[u], c, m]. */
function depthwiseSubFilter(
  backend: BackendWasm,
  filter: TensorInfo,
  g: ConvGeometry,
  row: AxisPhase,
  col: AxisPhase
): TensorInfo {
  const { filterWidth: KW, outChannels: CM } = g
  const sub = allocate(backend, [row.taps.length, col.taps.length, CM, 1])
  const w = f32(backend, filter)
  const f = f32(backend, sub)
  let dst = 0
  for (const kh of row.taps) {
    for (const kw of col.taps) {
      const src = (kh * KW + kw) * CM
      f.set(w.subarray(src, src + CM), dst)
      dst += CM
    }
  }
  return sub
}

/** Writes one phase's pixels to their places in dx, summing the M outputs of each depthwise channel. */
function scatterPhase(
  out: Float32Array,
  dx: Float32Array,
  g: ConvGeometry,
  row: AxisPhase,
  col: AxisPhase,
  multiplier: number
): void {
  const {
    batch: B,
    inHeight: H,
    inWidth: W,
    inChannels: C,
    strideHeight: sh,
    strideWidth: sw,
    padTop,
    padLeft
  } = g
  const rows = row.length
  const cols = col.length
  const depth = C * multiplier
  for (let b = 0; b < B; b++) {
    for (let u = 0; u < rows; u++) {
      const ih = (u + row.first) * sh + row.residue - padTop
      let src = (b * rows + u) * cols * depth
      for (let v = 0; v < cols; v++) {
        const iw = (v + col.first) * sw + col.residue - padLeft
        const dst = ((b * H + ih) * W + iw) * C
        if (multiplier === 1) {
          for (let c = 0; c < C; c++) dx[dst + c] = out[src + c]
        } else {
          for (let c = 0; c < C; c++) {
            let sum = 0
            const base = src + c * multiplier
            for (let m = 0; m < multiplier; m++) sum += out[base + m]
            dx[dst + c] = sum
          }
        }
        src += depth
      }
    }
  }
}
