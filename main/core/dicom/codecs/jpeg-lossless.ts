// JPEG Lossless, process 14 (ITU T.81 Annex H), any predictor and point transform. Grey images
// (one component, the CXR case) use the decoder below, written for speed: jpeg-lossless-decoder-js
// decodes a 2k x 2k 12-bit image about 2x slower than dcmtk's dcmdjpeg. Colour images go to
// jpeg-lossless-decoder-js.
import { createRequire } from 'node:module'
import { BitReader, JpegError, buildFastDiff, buildHuffman, type HuffmanTable } from './jpeg-huffman'

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
      const samples = new Uint16Array(frame.width * frame.height)
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
  let untilRestart = restartInterval
  const fast = buildFastDiff(table)
  let firstLine = true // the first line of the image or of a restart interval uses predictor 1
  for (let y = 0; y < height; y++) {
    const row = y * width
    const above = row - width
    for (let x = 0; x < width; x++) {
      if (restartInterval) {
        if (untilRestart === 0) {
          bits.restart()
          untilRestart = restartInterval
          firstLine = true
          if (x !== 0) throw new JpegError('lossless JPEG restart interval is not a whole number of lines')
        }
        untilRestart--
      }
      let prediction: number
      if (firstLine) prediction = x === 0 ? initial : out[row + x - 1]
      else if (x === 0) prediction = out[above]
      else {
        const ra = out[row + x - 1]
        const rb = out[above + x]
        const rc = out[above + x - 1]
        switch (predictor) {
          case 1:
            prediction = ra
            break
          case 2:
            prediction = rb
            break
          case 3:
            prediction = rc
            break
          case 4:
            prediction = ra + rb - rc
            break
          case 5:
            prediction = ra + ((rb - rc) >> 1)
            break
          case 6:
            prediction = rb + ((ra - rc) >> 1)
            break
          default:
            prediction = (ra + rb) >> 1
        }
      }
      let diff: number
      const look = bits.peek()
      if (fast.length[look]) {
        bits.skip(fast.length[look])
        diff = fast.value[look]
      } else {
        const ssss = bits.decode(table)
        diff = ssss === 0 ? 0 : ssss === 16 ? 32768 : bits.receiveExtend(ssss)
      }
      out[row + x] = (prediction + diff) & 0xffff // modulo 2^16 (T.81 H.2.2)
    }
    firstLine = false
  }
  if (pointTransform) for (let i = 0; i < out.length; i++) out[i] <<= pointTransform
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
