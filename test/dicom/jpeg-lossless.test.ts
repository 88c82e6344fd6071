import { describe, expect, it } from 'vitest'
import { decodeJpegLossless } from '../../main/core/dicom/codecs/jpeg-lossless'

// dcmtk's dcmcjpeg (the fixtures' encoder) writes neither restart intervals nor every predictor at
// 16 bits, so these streams come from a small process-14 encoder written from T.81 Annex H.

/** Huffman table: SSSS 0..16 with 5-bit codes 0..16 (canonical: counts[4] = 17). */
const SYMBOLS = 17
const CODE_LENGTH = 5

function predict(p: number, ra: number, rb: number, rc: number): number {
  switch (p) {
    case 1:
      return ra
    case 2:
      return rb
    case 3:
      return rc
    case 4:
      return ra + rb - rc
    case 5:
      return ra + ((rb - rc) >> 1)
    case 6:
      return rb + ((ra - rc) >> 1)
    default:
      return (ra + rb) >> 1
  }
}

class BitWriter {
  bytes: number[] = []
  private acc = 0
  private count = 0
  write(value: number, length: number): void {
    for (let i = length - 1; i >= 0; i--) {
      this.acc = (this.acc << 1) | ((value >> i) & 1)
      if (++this.count === 8) this.flushByte()
    }
  }
  /** Pads the last byte with 1-bits (T.81 F.1.2.3). */
  align(): void {
    while (this.count !== 0) this.write(1, 1)
  }
  private flushByte(): void {
    this.bytes.push(this.acc & 0xff)
    if ((this.acc & 0xff) === 0xff) this.bytes.push(0x00) // byte stuffing
    this.acc = 0
    this.count = 0
  }
}

/** A one-component lossless JPEG of `pixels` (row-major, < 2^precision). */
function encodeLossless(
  pixels: Uint16Array,
  width: number,
  height: number,
  precision: number,
  predictor: number,
  restartLines = 0
): Uint8Array {
  const out: number[] = [0xff, 0xd8]
  const segment = (marker: number, body: number[]) =>
    out.push(0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 0xff, ...body)
  segment(0xc3, [precision, height >> 8, height & 0xff, width >> 8, width & 0xff, 1, 1, 0x11, 0])
  const counts = new Array(16).fill(0)
  counts[CODE_LENGTH - 1] = SYMBOLS
  segment(0xc4, [0x00, ...counts, ...Array.from({ length: SYMBOLS }, (_, s) => s)])
  const interval = restartLines * width
  if (interval) segment(0xdd, [interval >> 8, interval & 0xff])
  segment(0xda, [1, 1, 0x00, predictor, 0, 0])
  let bits = new BitWriter()
  let restarts = 0
  let firstLine = true
  for (let y = 0; y < height; y++) {
    if (interval && y > 0 && (y * width) % interval === 0) {
      bits.align()
      out.push(...bits.bytes, 0xff, 0xd0 + (restarts++ % 8))
      bits = new BitWriter()
      firstLine = true
    }
    for (let x = 0; x < width; x++) {
      const i = y * width + x
      let prediction: number
      if (firstLine) prediction = x === 0 ? 1 << (precision - 1) : pixels[i - 1]
      else if (x === 0) prediction = pixels[i - width]
      else prediction = predict(predictor, pixels[i - 1], pixels[i - width], pixels[i - width - 1])
      let diff = (pixels[i] - prediction) & 0xffff
      if (diff >= 0x8000) diff -= 0x10000
      const magnitude = Math.abs(diff)
      const ssss = diff === -32768 ? 16 : magnitude === 0 ? 0 : 32 - Math.clz32(magnitude)
      bits.write(ssss, CODE_LENGTH)
      if (ssss > 0 && ssss < 16) bits.write(diff < 0 ? diff + (1 << ssss) - 1 : diff, ssss)
    }
    firstLine = false
  }
  bits.align()
  out.push(...bits.bytes, 0xff, 0xd9)
  return Uint8Array.from(out)
}

/** Radiograph-like samples: a ramp plus noise, and a few extreme jumps that need SSSS 15 and 16. */
function samples(width: number, height: number, precision: number): Uint16Array {
  const max = 2 ** precision - 1
  const pixels = new Uint16Array(width * height)
  let seed = 12345
  const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32
  for (let i = 0; i < pixels.length; i++) {
    const ramp = ((i % width) / width) * 0.6 * max
    pixels[i] = Math.min(max, Math.max(0, Math.round(0.2 * max + ramp + (random() - 0.5) * 0.05 * max)))
  }
  pixels[5] = max
  pixels[6] = 0
  pixels[width + 3] = max
  return pixels
}

describe('JPEG lossless (process 14) decoder', () => {
  for (const precision of [12, 16]) {
    for (let predictor = 1; predictor <= 7; predictor++) {
      it(`decodes predictor ${predictor} at ${precision} bits, with and without restart intervals, pixel for pixel`, () => {
        const [width, height] = [37, 12]
        const pixels = samples(width, height, precision)
        for (const restartLines of [0, 1, 5]) {
          const decoded = decodeJpegLossless(
            encodeLossless(pixels, width, height, precision, predictor, restartLines),
            2
          )
          expect([decoded.width, decoded.height, decoded.components]).toEqual([width, height, 1])
          expect(Array.from(decoded.samples), `restart every ${restartLines} lines`).toEqual(
            Array.from(pixels)
          )
        }
      })
    }
  }

  it('refuses a restart interval that ends inside a line', () => {
    const [width, height] = [8, 4]
    const stream = encodeLossless(samples(width, height, 12), width, height, 12, 1, 1)
    // DRI says 12 samples: one and a half lines
    const dri = stream.findIndex((byte, i) => byte === 0xff && stream[i + 1] === 0xdd)
    stream[dri + 5] = 12
    expect(() => decodeJpegLossless(stream, 2)).toThrow(/restart interval is not a whole number of lines/)
  })
})
