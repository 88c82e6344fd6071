// JPEG Lossless, process 14 (ITU T.81 Annex H), any predictor and point transform. Grey images
// (one component, the CXR case) use the decoder below, written for speed: jpeg-lossless-decoder-js
// decodes a 2k x 2k 12-bit image about 2x slower than dcmtk's dcmdjpeg. Colour images go to
// jpeg-lossless-decoder-js.
import { createRequire } from 'node:module'
import { BitReader, JpegError, buildHuffman, type HuffmanTable } from './jpeg-huffman'

export interface LosslessImage {
  samples: Uint8Array | Uint16Array
  components: number
  precision: number
  width: number
  height: number
}

export function decodeJpegLossless(encoded: Uint8Array, bytesPerSample: number): LosslessImage {
  return decodeGreyLossless(encoded) ?? decodeWithPackage(encoded, bytesPerSample)
}

/** Decodes a one-component, one-scan lossless stream; null for anything else (colour, several scans). */
function decodeGreyLossless(data: Uint8Array): LosslessImage | null {
  const u16 = (at: number) => (data[at] << 8) | data[at + 1]
  if (u16(0) !== 0xffd8) throw new JpegError('not a JPEG stream (no SOI marker)')
  const tables: HuffmanTable[] = []
  let restartInterval = 0
  let frame: { precision: number; width: number; height: number } | null = null
  for (let pos = 2; pos + 4 <= data.length;) {
    if (data[pos] !== 0xff) throw new JpegError(`JPEG marker expected at byte ${pos}`)
    const marker = data[pos + 1]
    if (marker === 0xff) {
      pos++
      continue
    }
    const body = pos + 4
    const end = pos + 2 + u16(pos + 2)
    if (marker === 0xc4) {
      for (let p = body; p < end;) {
        const counts = data.subarray(p + 1, p + 17)
        let total = 0
        for (let i = 0; i < 16; i++) total += counts[i]
        tables[data[p] & 15] = buildHuffman(counts, data.subarray(p + 17, p + 17 + total))
        p += 17 + total
      }
    } else if (marker === 0xc3) {
      if (data[body + 5] !== 1) return null
      frame = { precision: data[body], height: u16(body + 1), width: u16(body + 3) }
    } else if (marker === 0xdd) {
      restartInterval = u16(body)
    } else if (marker === 0xda) {
      if (!frame) throw new JpegError('JPEG scan before the frame header')
      if (data[body] !== 1) return null
      const table = tables[data[body + 2] >> 4]
      if (!table) throw new JpegError('JPEG scan refers to a missing Huffman table')
      const predictor = data[body + 3]
      const pointTransform = data[body + 5] & 15
      // not zero-filled (30 MB at 4240x3480): the scan writes every sample or throws
      const count = frame.width * frame.height
      const samples = new Uint16Array(Buffer.allocUnsafeSlow(count * 2).buffer, 0, count)
      decodeScan(new BitReader(data, end), frame, table, predictor, pointTransform, restartInterval, samples)
      return { samples, components: 1, precision: frame.precision, width: frame.width, height: frame.height }
    } else if (
      (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) ||
      marker === 0xd9
    ) {
      return null // not a single-component process 14 stream: let the package decide
    }
    pos = end
  }
  throw new JpegError('JPEG stream has no scan')
}

/**
 * The entropy-coded scan. The bit reader's state lives in locals and a difference whose Huffman code
 * and extra bits fit in FAST_BITS is one table lookup: with a radiograph's noise the differences need
 * 5-9 extra bits, past the 9-bit lookahead shared with the DCT decoder, and the slow path through the
 * BitReader object took most of a 4240x3480 decode (profiled). Output is modulo 2^16 (T.81 H.2.2).
 */
function decodeScan(
  bits: BitReader,
  frame: { precision: number; width: number; height: number },
  table: HuffmanTable,
  predictor: number,
  pointTransform: number,
  restartInterval: number,
  out: Uint16Array
): void {
  if (predictor < 1 || predictor > 7) throw new JpegError(`lossless JPEG predictor ${predictor} is not 1..7`)
  const { width, height } = frame
  const initial = 1 << (frame.precision - pointTransform - 1)
  const fast = buildWideDiff(table)
  const data = bits.data
  const length = data.length
  let pos = bits.pos
  let bitBuf = 0
  let bitCnt = 0
  let untilRestart = restartInterval
  let firstLine = true // the first line of the image or of a restart interval uses predictor 1
  for (let y = 0; y < height; y++) {
    if (restartInterval) {
      if (untilRestart === 0 && y > 0) {
        bits.pos = pos
        bits.restart()
        pos = bits.pos
        bitBuf = 0
        bitCnt = 0
        untilRestart = restartInterval
        firstLine = true
      }
      if (untilRestart < width)
        throw new JpegError('lossless JPEG restart interval is not a whole number of lines')
      untilRestart -= width
    }
    const row = y * width
    const above = row - width
    let left = 0
    for (let x = 0; x < width; x++) {
      let prediction: number
      if (x === 0) prediction = firstLine ? initial : out[above]
      else if (firstLine || predictor === 1) prediction = left
      else {
        const rb = out[above + x]
        const rc = out[above + x - 1]
        switch (predictor) {
          case 2:
            prediction = rb
            break
          case 3:
            prediction = rc
            break
          case 4:
            prediction = left + rb - rc
            break
          case 5:
            prediction = left + ((rb - rc) >> 1)
            break
          case 6:
            prediction = rb + ((left - rc) >> 1)
            break
          default:
            prediction = (left + rb) >> 1
        }
      }
      if (bitCnt < FAST_BITS) {
        // refill to 25-32 bits; byte stuffing removed, zeros fed at a marker (as libjpeg does)
        while (bitCnt <= 24) {
          let byte = 0
          if (pos < length) {
            byte = data[pos]
            if (byte === 0xff) {
              if (data[pos + 1] === 0x00) pos += 2
              else byte = 0
            } else pos++
          }
          bitBuf = (bitBuf << 8) | byte
          bitCnt += 8
        }
      }
      const entry = fast[(bitBuf >>> (bitCnt - FAST_BITS)) & FAST_MASK]
      let diff: number
      if (entry & 31) {
        bitCnt -= entry & 31
        diff = entry >> 5
      } else {
        bits.bitBuf = bitBuf
        bits.bitCnt = bitCnt
        bits.pos = pos
        const ssss = bits.decode(table)
        diff = ssss === 0 ? 0 : ssss === 16 ? 32768 : bits.receiveExtend(ssss)
        bitBuf = bits.bitBuf
        bitCnt = bits.bitCnt
        pos = bits.pos
      }
      left = (prediction + diff) & 0xffff
      out[row + x] = left
    }
    firstLine = false
  }
  bits.pos = pos
  if (pointTransform) for (let i = 0; i < out.length; i++) out[i] <<= pointTransform
}

const FAST_BITS = 14
const FAST_MASK = (1 << FAST_BITS) - 1

/**
 * For every FAST_BITS-bit lookahead whose Huffman code and extra bits both fit: (difference << 5) |
 * bits consumed; 0 sends the decoder to the slow path (longer codes, SSSS 16).
 */
function buildWideDiff(t: HuffmanTable): Int32Array {
  const table = new Int32Array(1 << FAST_BITS)
  for (let codeLength = 1; codeLength <= 16 && codeLength <= FAST_BITS; codeLength++) {
    for (let code = t.minCode[codeLength]; code <= t.maxCode[codeLength]; code++) {
      const s = t.values[t.valPtr[codeLength] + code - t.minCode[codeLength]]
      if (s >= 16 || codeLength + s > FAST_BITS) continue
      const free = FAST_BITS - codeLength - s
      for (let magnitude = 0; magnitude < 1 << s; magnitude++) {
        const diff = s === 0 ? 0 : magnitude < 1 << (s - 1) ? magnitude - (1 << s) + 1 : magnitude
        const entry = (diff << 5) | (codeLength + s)
        const prefix = (((code << s) | magnitude) << free) >>> 0
        table.fill(entry, prefix, prefix + (1 << free))
      }
    }
  }
  return table
}

interface PackageDecoder {
  decode(buffer: ArrayBuffer, offset: number, length: number, numBytes?: number): Uint8Array | Uint16Array
  numComp: number
  precision: number
  xDim: number
  yDim: number
}

const requireCodec = createRequire(import.meta.url)
let PackageDecoderClass: (new () => PackageDecoder) | null = null

function decodeWithPackage(encoded: Uint8Array, bytesPerSample: number): LosslessImage {
  PackageDecoderClass ??= (requireCodec('jpeg-lossless-decoder-js') as { Decoder: new () => PackageDecoder })
    .Decoder
  const decoder = new PackageDecoderClass()
  const samples = decoder.decode(
    encoded.buffer as ArrayBuffer,
    encoded.byteOffset,
    encoded.byteLength,
    bytesPerSample
  )
  return {
    samples,
    components: decoder.numComp,
    precision: decoder.precision,
    width: decoder.xDim,
    height: decoder.yDim
  }
}
