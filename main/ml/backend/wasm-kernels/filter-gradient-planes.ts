// dW without im2col: "shifted planes". x is rearranged once into per-channel planes
// xT[phase][c][b][i][j] = xpad[b][i·s + rh][j·s + rw][c] (phase = (rh, rw), the stride residues),
// and dy is zero-padded to the same [b][i][j] grid. Then for each filter tap the matrix
// A[c][p] = xT[phase(tap)][c][p + offset(tap)] is just a view into xT (rows are Lq apart), and
//   dW[tap] = A · dyPadded            (one XNNPACK GEMM per tap, the packed dy shared by all taps).
// Grid positions outside dy are zero in dyPadded, so the reads past a row (or plane) end that the
// offsets cause are multiplied by zero. The price is the padding: Lq/L = (Hq·Wq)/(OH·OW) more work.
import type { TensorInfo } from '@tensorflow/tfjs-core'
import type { ConvGeometry } from './conv-geometry'
import { alias, allocate, f32, release, releaseAlias, reshapeInfo, runKernel, type BackendWasm } from './heap'

export interface PlaneLayout {
  /** Grid of one phase plane: Hq × Wq per image. */
  hq: number
  wq: number
  /** Floats per channel plane (B·Hq·Wq), i.e. the GEMM's inner dimension. */
  lq: number
  phases: number
  /** Largest tap offset, read past the last plane (kept zero). */
  tail: number
}

export function planeLayout(g: ConvGeometry): PlaneLayout {
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = g
  const qh = Math.floor(((g.filterHeight - 1) * dh) / sh)
  const qw = Math.floor(((g.filterWidth - 1) * dw) / sw)
  const hq = g.outHeight + qh
  const wq = g.outWidth + qw
  return { hq, wq, lq: g.batch * hq * wq, phases: sh * sw, tail: qh * wq + qw }
}

/** Extra multiply-adds of the plane method relative to im2col (1 = none). */
export function planeOverhead(g: ConvGeometry): number {
  const { hq, wq } = planeLayout(g)
  return (hq * wq) / (g.outHeight * g.outWidth)
}

export function planeFilterGradient(
  backend: BackendWasm,
  x: TensorInfo,
  dy: TensorInfo,
  g: ConvGeometry
): TensorInfo {
  const { filterHeight: KH, filterWidth: KW, inChannels: C, outChannels: Co, outHeight: OH, outWidth: OW } = g
  const layout = planeLayout(g)
  const { hq, wq, lq } = layout

  const planes = allocate(backend, [layout.phases * C * lq + layout.tail])
  fillPlanes(f32(backend, x), f32(backend, planes), g, layout)
  // dy on the Hq × Wq grid. When no padding is needed an alias stands in for dy itself, so the
  // packed copy XNNPACK caches per weights tensor is dropped with it rather than living on with dy.
  const padded =
    hq === OH && wq === OW
      ? null
      : runKernel(
          backend,
          'PadV2',
          { x: dy },
          {
            paddings: [
              [0, 0],
              [0, hq - OH],
              [0, wq - OW],
              [0, 0]
            ],
            constantValue: 0
          }
        )
  const weights = padded ? reshapeInfo(padded, [1, lq, Co]) : alias(backend, dy, 0, [1, lq, Co])

  const dW = allocate(backend, [KH, KW, C, Co])
  try {
    for (let fh = 0; fh < KH; fh++) {
      for (let fw = 0; fw < KW; fw++) {
        const rowShift = fh * g.dilationHeight
        const colShift = fw * g.dilationWidth
        const phase = (rowShift % g.strideHeight) * g.strideWidth + (colShift % g.strideWidth)
        const offset =
          phase * C * lq + Math.floor(rowShift / g.strideHeight) * wq + Math.floor(colShift / g.strideWidth)
        const a = alias(backend, planes, offset, [1, C, lq])
        // Same weights tensor every tap: XNNPACK packs dy once and reuses the cached operator.
        const tap = runKernel(
          backend,
          'BatchMatMul',
          { a, b: weights },
          { transposeA: false, transposeB: false }
        )
        releaseAlias(backend, a)
        f32(backend, dW).set(f32(backend, tap), (fh * KW + fw) * C * Co)
        release(backend, tap)
      }
    }
  } finally {
    if (padded) release(backend, padded)
    else releaseAlias(backend, weights)
    release(backend, planes)
  }
  return dW
}

/** xT[phase][c][b][i][j] = x[b][i·sh + rh − pt][j·sw + rw − pl][c], zero outside x. */
function fillPlanes(x: Float32Array, planes: Float32Array, g: ConvGeometry, layout: PlaneLayout): void {
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
  const { hq, wq, lq } = layout
  planes.fill(0)
  for (let rh = 0; rh < sh; rh++) {
    for (let rw = 0; rw < sw; rw++) {
      const phaseBase = (rh * sw + rw) * C * lq
      // columns j whose input column j·sw + rw − pl lies inside x
      const jLo = Math.max(0, Math.ceil((padLeft - rw) / sw))
      const jHi = Math.min(wq, Math.floor((W - 1 + padLeft - rw) / sw) + 1)
      if (jLo >= jHi) continue
      for (let b = 0; b < B; b++) {
        for (let i = 0; i < hq; i++) {
          const ih = i * sh + rh - padTop
          if (ih < 0 || ih >= H) continue
          const rowBase = phaseBase + (b * hq + i) * wq
          let src = ((b * H + ih) * W + (jLo * sw + rw - padLeft)) * C
          const step = sw * C
          for (let j = jLo; j < jHi; j++) {
            let dst = rowBase + j
            for (let c = 0; c < C; c++) {
              planes[dst] = x[src + c]!
              dst += lq
            }
            src += step
          }
        }
      }
    }
  }
}
