// Sequential-DCT Huffman JPEG decoder (ITU T.81 baseline and extended, 8 and 12 bit precision, one
// component), for DICOM's JPEG Extended 12-bit syntax: no maintained npm codec decodes 12-bit JPEG
// correctly (libjpeg-turbo's wasm build is 8-bit only; the pdf.js-derived decoder Cornerstone ships
// is off by ~15 grey levels at 12 bits). The IDCT is IJG's integer "islow" (jidctint.c), so the
// output equals dcmtk's dcmdjpeg pixel for pixel.

import {
  BitReader,
  JpegError,
  buildFastAc,
  buildFastDiff,
  buildHuffman,
  type HuffmanTable
} from './jpeg-huffman'

export { JpegError }

const ZIGZAG = new Uint8Array([
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7,
  14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46,
  53, 60, 61, 54, 47, 55, 62, 63
])

/** IJG islow IDCT constants (CONST_BITS = 13). */
const F0_298 = 2446,
  F0_390 = 3196,
  F0_541 = 4433,
  F0_765 = 6270,
  F0_899 = 7373,
  F1_175 = 9633,
  F1_501 = 12299
const F1_847 = 15137,
  F1_961 = 16069,
  F2_053 = 16819,
  F2_562 = 20995,
  F3_072 = 25172

export interface JpegDctImage {
  width: number
  height: number
  precision: number
  pixels: Uint16Array
}

export function decodeJpegDct(data: Uint8Array): JpegDctImage {
  let pos = 0
  const u16 = (at: number) => (data[at] << 8) | data[at + 1]
  if (u16(0) !== 0xffd8) throw new JpegError('not a JPEG stream (no SOI marker)')
  pos = 2
  const quant: Int32Array[] = []
  const dcTables: HuffmanTable[] = []
  const acTables: HuffmanTable[] = []
  let restartInterval = 0
  let frame: { precision: number; width: number; height: number; quantId: number; id: number } | null = null
  let output: Uint16Array | null = null

  for (;;) {
    if (pos + 2 > data.length) throw new JpegError('JPEG stream ends before EOI')
    if (data[pos] !== 0xff) throw new JpegError(`JPEG marker expected at byte ${pos}`)
    const marker = data[pos + 1]
    if (marker === 0xff) {
      pos++
      continue
    }
    pos += 2
    if (marker === 0xd9) break
    if (marker >= 0xd0 && marker <= 0xd7) continue
    if (pos + 2 > data.length) throw new JpegError('JPEG stream ends inside a marker segment')
    const length = u16(pos)
    const end = pos + length
    const body = pos + 2
    switch (marker) {
      case 0xdb: {
        for (let p = body; p < end;) {
          const pq = data[p] >> 4
          const tq = data[p] & 15
          p++
          const table = new Int32Array(64)
          for (let k = 0; k < 64; k++) {
            table[ZIGZAG[k]] = pq ? u16(p) : data[p]
            p += pq ? 2 : 1
          }
          quant[tq] = table
        }
        break
      }
      case 0xc4: {
        for (let p = body; p < end;) {
          const tc = data[p] >> 4
          const th = data[p] & 15
          const counts = data.subarray(p + 1, p + 17)
          let total = 0
          for (let i = 0; i < 16; i++) total += counts[i]
          const table = buildHuffman(counts, data.subarray(p + 17, p + 17 + total))
          if (tc === 0) dcTables[th] = table
          else acTables[th] = table
          p += 17 + total
        }
        break
      }
      case 0xc0:
      case 0xc1: {
        const components = data[body + 5]
        if (components !== 1)
          throw new JpegError(`${components}-component DCT JPEG is not supported here (grey images only)`)
        frame = {
          precision: data[body],
          height: u16(body + 1),
          width: u16(body + 3),
          id: data[body + 6],
          quantId: data[body + 8]
        }
        if (frame.precision !== 8 && frame.precision !== 12)
          throw new JpegError(`unsupported JPEG precision ${frame.precision}`)
        break
      }
      case 0xc2:
      case 0xc3:
      case 0xc5:
      case 0xc6:
      case 0xc7:
      case 0xc9:
      case 0xca:
      case 0xcb:
      case 0xcd:
      case 0xce:
      case 0xcf:
        throw new JpegError(
          `JPEG process with SOF marker FF${marker.toString(16).toUpperCase()} is not supported (sequential DCT only)`
        )
      case 0xdd:
        restartInterval = u16(body)
        break
      case 0xda: {
        if (!frame) throw new JpegError('JPEG scan before the frame header')
        const tables = data[body + 2]
        const dc = dcTables[tables >> 4]
        const ac = acTables[tables & 15]
        const q = quant[frame.quantId]
        if (!dc || !ac || !q)
          throw new JpegError('JPEG scan refers to a missing Huffman or quantisation table')
        output = new Uint16Array(frame.width * frame.height)
        pos = decodeScan(data, end, frame, dc, ac, q, restartInterval, output)
        continue
      }
      default:
        break // APPn, COM and others carry nothing the pixels need
    }
    pos = end
  }
  if (!frame || !output) throw new JpegError('JPEG stream has no image')
  return { width: frame.width, height: frame.height, precision: frame.precision, pixels: output }
}

/**
 * IJG's post-IDCT range-limit table (jdmaster.c prepare_range_limit_table), indexed by
 * `descaled & rangeMask`: clamps to 0..max around the level shift, wrapping wild values like libjpeg.
 */
function rangeLimitTable(precision: number): Uint16Array {
  const max = (1 << precision) - 1
  const center = 1 << (precision - 1)
  const size = (max + 1) * 4
  const table = new Uint16Array(size)
  for (let j = 0; j < size; j++) {
    const x = j < (max + 1) * 2 ? j : j - size
    table[j] = Math.min(max, Math.max(0, x + center))
  }
  return table
}

/** IJG jidctint.c (islow) on dequantised coefficients; `ws` is scratch, `block` receives the samples. */
function idctFactory(
  pass1Bits: number,
  limit: Uint16Array
): (coef: Int32Array, ws: Float64Array, block: Uint16Array) => void {
  const rangeMask = limit.length - 1
  // DESCALE(x, n) = (x + 2^(n-1)) >> n, done in doubles (libjpeg's INT32 is 64-bit on LP64 platforms)
  const inv1 = 2 ** -(13 - pass1Bits)
  const r1 = 2 ** (12 - pass1Bits)
  const inv2 = 2 ** -(13 + pass1Bits + 3)
  const r2 = 2 ** (13 + pass1Bits + 2)
  const dcShift = 2 ** pass1Bits
  const invDc = 2 ** -(pass1Bits + 3)
  const rDc = 2 ** (pass1Bits + 2)
  return (coef, ws, block) => {
    // pass 1: columns (jidctint.c); coefficients are already dequantised
    for (let c = 0; c < 8; c++) {
      if (
        !coef[8 + c] &&
        !coef[16 + c] &&
        !coef[24 + c] &&
        !coef[32 + c] &&
        !coef[40 + c] &&
        !coef[48 + c] &&
        !coef[56 + c]
      ) {
        const dcval = coef[c] * dcShift
        ws[c] =
          ws[8 + c] =
          ws[16 + c] =
          ws[24 + c] =
          ws[32 + c] =
          ws[40 + c] =
          ws[48 + c] =
          ws[56 + c] =
            dcval
        continue
      }
      let z2 = coef[16 + c]
      let z3 = coef[48 + c]
      let z1 = (z2 + z3) * F0_541
      let tmp2 = z1 - z3 * F1_847
      let tmp3 = z1 + z2 * F0_765
      z2 = coef[c]
      z3 = coef[32 + c]
      let tmp0 = (z2 + z3) * 8192
      let tmp1 = (z2 - z3) * 8192
      const tmp10 = tmp0 + tmp3
      const tmp13 = tmp0 - tmp3
      const tmp11 = tmp1 + tmp2
      const tmp12 = tmp1 - tmp2
      tmp0 = coef[56 + c]
      tmp1 = coef[40 + c]
      tmp2 = coef[24 + c]
      tmp3 = coef[8 + c]
      z1 = tmp0 + tmp3
      z2 = tmp1 + tmp2
      z3 = tmp0 + tmp2
      let z4 = tmp1 + tmp3
      const z5 = (z3 + z4) * F1_175
      tmp0 *= F0_298
      tmp1 *= F2_053
      tmp2 *= F3_072
      tmp3 *= F1_501
      z1 *= -F0_899
      z2 *= -F2_562
      z3 = z3 * -F1_961 + z5
      z4 = z4 * -F0_390 + z5
      tmp0 += z1 + z3
      tmp1 += z2 + z4
      tmp2 += z2 + z3
      tmp3 += z1 + z4
      ws[c] = Math.floor((tmp10 + tmp3 + r1) * inv1)
      ws[56 + c] = Math.floor((tmp10 - tmp3 + r1) * inv1)
      ws[8 + c] = Math.floor((tmp11 + tmp2 + r1) * inv1)
      ws[48 + c] = Math.floor((tmp11 - tmp2 + r1) * inv1)
      ws[16 + c] = Math.floor((tmp12 + tmp1 + r1) * inv1)
      ws[40 + c] = Math.floor((tmp12 - tmp1 + r1) * inv1)
      ws[24 + c] = Math.floor((tmp13 + tmp0 + r1) * inv1)
      ws[32 + c] = Math.floor((tmp13 - tmp0 + r1) * inv1)
    }

    // pass 2: rows, through the range-limit table
    for (let w = 0; w < 64; w += 8) {
      if (!ws[w + 1] && !ws[w + 2] && !ws[w + 3] && !ws[w + 4] && !ws[w + 5] && !ws[w + 6] && !ws[w + 7]) {
        const v = limit[Math.floor((ws[w] + rDc) * invDc) & rangeMask]
        block[w] =
          block[w + 1] =
          block[w + 2] =
          block[w + 3] =
          block[w + 4] =
          block[w + 5] =
          block[w + 6] =
          block[w + 7] =
            v
        continue
      }
      let z2 = ws[w + 2]
      let z3 = ws[w + 6]
      let z1 = (z2 + z3) * F0_541
      let tmp2 = z1 - z3 * F1_847
      let tmp3 = z1 + z2 * F0_765
      let tmp0 = (ws[w] + ws[w + 4]) * 8192
      let tmp1 = (ws[w] - ws[w + 4]) * 8192
      const tmp10 = tmp0 + tmp3
      const tmp13 = tmp0 - tmp3
      const tmp11 = tmp1 + tmp2
      const tmp12 = tmp1 - tmp2
      tmp0 = ws[w + 7]
      tmp1 = ws[w + 5]
      tmp2 = ws[w + 3]
      tmp3 = ws[w + 1]
      z1 = tmp0 + tmp3
      z2 = tmp1 + tmp2
      z3 = tmp0 + tmp2
      let z4 = tmp1 + tmp3
      const z5 = (z3 + z4) * F1_175
      tmp0 *= F0_298
      tmp1 *= F2_053
      tmp2 *= F3_072
      tmp3 *= F1_501
      z1 *= -F0_899
      z2 *= -F2_562
      z3 = z3 * -F1_961 + z5
      z4 = z4 * -F0_390 + z5
      tmp0 += z1 + z3
      tmp1 += z2 + z4
      tmp2 += z2 + z3
      tmp3 += z1 + z4
      block[w] = limit[Math.floor((tmp10 + tmp3 + r2) * inv2) & rangeMask]
      block[w + 7] = limit[Math.floor((tmp10 - tmp3 + r2) * inv2) & rangeMask]
      block[w + 1] = limit[Math.floor((tmp11 + tmp2 + r2) * inv2) & rangeMask]
      block[w + 6] = limit[Math.floor((tmp11 - tmp2 + r2) * inv2) & rangeMask]
      block[w + 2] = limit[Math.floor((tmp12 + tmp1 + r2) * inv2) & rangeMask]
      block[w + 5] = limit[Math.floor((tmp12 - tmp1 + r2) * inv2) & rangeMask]
      block[w + 3] = limit[Math.floor((tmp13 + tmp0 + r2) * inv2) & rangeMask]
      block[w + 4] = limit[Math.floor((tmp13 - tmp0 + r2) * inv2) & rangeMask]
    }
  }
}

/** Decodes the entropy-coded segment starting at `start`; returns the position of the next marker. */
function decodeScan(
  data: Uint8Array,
  start: number,
  frame: { precision: number; width: number; height: number },
  dc: HuffmanTable,
  ac: HuffmanTable,
  quant: Int32Array,
  restartInterval: number,
  output: Uint16Array
): number {
  const bits = new BitReader(data, start)
  const { width, height, precision } = frame
  const pass1Bits = precision === 8 ? 2 : 1
  const limit = rangeLimitTable(precision)
  const rangeMask = limit.length - 1
  const dcShift = 2 ** pass1Bits
  const invDc = 2 ** -(pass1Bits + 3)
  const rDc = 2 ** (pass1Bits + 2)
  const idct = idctFactory(pass1Bits, limit)
  const fastAc = buildFastAc(ac)
  const fastDc = buildFastDiff(dc)

  const blocksPerLine = Math.ceil(width / 8)
  const total = blocksPerLine * Math.ceil(height / 8)
  const coef = new Int32Array(64)
  const ws = new Float64Array(64)
  const block = new Uint16Array(64)
  let pred = 0
  let mcusToRestart = restartInterval

  for (let b = 0; b < total; b++) {
    if (restartInterval) {
      if (mcusToRestart === 0) {
        bits.restart()
        pred = 0
        mcusToRestart = restartInterval
      }
      mcusToRestart--
    }
    coef.fill(0)
    const dcLook = bits.peek()
    if (fastDc.length[dcLook]) {
      bits.skip(fastDc.length[dcLook])
      pred += fastDc.value[dcLook]
    } else {
      const t = bits.decode(dc)
      if (t) pred += bits.receiveExtend(t)
    }
    coef[0] = pred * quant[0]
    let acSeen = false
    for (let k = 1; k < 64;) {
      const look = bits.peek()
      const fastLength = fastAc.length[look]
      if (fastLength) {
        bits.skip(fastLength)
        k += fastAc.run[look]
        if (k > 63) throw new JpegError('corrupt JPEG data: coefficient index past 63')
        const z = ZIGZAG[k]
        coef[z] = fastAc.value[look] * quant[z]
        acSeen = true
        k++
        continue
      }
      const rs = bits.decode(ac)
      const s = rs & 15
      if (s) {
        k += rs >> 4
        if (k > 63) throw new JpegError('corrupt JPEG data: coefficient index past 63')
        const z = ZIGZAG[k]
        coef[z] = bits.receiveExtend(s) * quant[z]
        acSeen = true
        k++
      } else if (rs === 0xf0) k += 16
      else break
    }

    if (!acSeen) {
      // DC only (smooth areas): both IDCT passes reduce to one value, computed exactly as they would
      block.fill(limit[Math.floor((coef[0] * dcShift + rDc) * invDc) & rangeMask])
    } else idct(coef, ws, block)

    const bx = (b % blocksPerLine) * 8
    const by = Math.floor(b / blocksPerLine) * 8
    const rows = Math.min(8, height - by)
    const cols = Math.min(8, width - bx)
    for (let r = 0; r < rows; r++) {
      const at = (by + r) * width + bx
      for (let i = 0; i < cols; i++) output[at + i] = block[r * 8 + i]
    }
  }
  // leave pos on the next marker (EOI or another segment)
  let pos = bits.pos
  while (
    pos < data.length - 1 &&
    !(data[pos] === 0xff && data[pos + 1] !== 0 && !(data[pos + 1] >= 0xd0 && data[pos + 1] <= 0xd7))
  )
    pos++
  return pos
}
