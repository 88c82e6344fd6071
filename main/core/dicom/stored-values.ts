// Raw decoded samples -> stored values: masking to Bits Stored, High Bit shift, sign extension,
// and colour -> grey. Kept apart from the codecs so every syntax ends in the same rules.
import type { StoredPixels } from '../../../common/pixels'

export interface SampleLayout {
  bitsAllocated: number
  bitsStored: number
  highBit: number
  pixelRepresentation: number
}

/**
 * `samples` are the raw sample values of one grey frame; `significantBits` is how many low bits
 * carry the value (Bits Stored, or more when a JPEG 2000 codestream is wider than the header says).
 * With `reuse`, samples already in the right typed array are masked in place and returned, not copied.
 */
export function toStoredValues(
  samples: ArrayLike<number>,
  layout: SampleLayout,
  significantBits = layout.bitsStored,
  reuse = false
): StoredPixels {
  const signed = layout.pixelRepresentation === 1
  const container = layout.bitsAllocated <= 8 ? 8 : layout.bitsAllocated <= 16 ? 16 : 32
  const bits = Math.min(container, Math.max(1, significantBits))
  const shift =
    significantBits === layout.bitsStored ? Math.max(0, layout.highBit + 1 - layout.bitsStored) : 0
  const Out =
    container === 8
      ? signed
        ? Int8Array
        : Uint8Array
      : container === 16
        ? signed
          ? Int16Array
          : Uint16Array
        : Int32Array
  // every pass below reads sample i before writing value i, so working in place is safe
  const out: StoredPixels =
    reuse && samples instanceof Out ? (samples as StoredPixels) : new Out(samples.length)
  if (bits === container && shift === 0) {
    // the container's own interpretation (two's complement when signed) is already right
    if (out !== samples) out.set(samples as ArrayLike<number>)
    if (container === 32 && !signed && bits === 32) {
      for (let i = 0; i < out.length; i++)
        if (out[i] < 0) throw new RangeError('unsigned 32-bit stored values above 2^31 are not supported')
    }
    return out
  }
  if (bits < 32 && out instanceof Uint16Array && samples instanceof Uint16Array && shift === 0 && !signed) {
    maskUint16(samples, out, 2 ** bits - 1) // the common case (12-bit CXR), kept monomorphic and fast
    return out
  }
  const mask = bits === 32 ? 0xffffffff : 2 ** bits - 1
  const signBit = 2 ** (bits - 1)
  const wrap = 2 ** bits
  for (let i = 0; i < samples.length; i++) {
    let v = (samples[i] >>> shift) & mask
    if (bits === 32) v >>>= 0
    if (signed && v >= signBit) v -= wrap
    out[i] = v
  }
  return out
}

function maskUint16(samples: Uint16Array, out: Uint16Array, mask: number): void {
  if (samples === out && out.byteOffset % 4 === 0) {
    // in place, two samples per 32-bit word: about half the time of the 16-bit loop
    const words = new Uint32Array(out.buffer, out.byteOffset, out.length >> 1)
    const pair = (mask | (mask << 16)) >>> 0
    for (let i = 0; i < words.length; i++) words[i] &= pair
    if (out.length & 1) out[out.length - 1] &= mask
    return
  }
  for (let i = 0; i < samples.length; i++) out[i] = samples[i] & mask
}

/** Interleaved (or planar) 3-sample pixels -> one grey sample per pixel. */
export function colourToGrey(
  samples: ArrayLike<number>,
  pixelCount: number,
  photometric: string,
  planar: boolean
): Uint16Array | Uint8Array {
  const out = samples instanceof Uint8Array ? new Uint8Array(pixelCount) : new Uint16Array(pixelCount)
  const at = planar
    ? (p: number, c: number) => samples[c * pixelCount + p]
    : (p: number, c: number) => samples[p * 3 + c]
  if (photometric === 'YBR_FULL') {
    for (let p = 0; p < pixelCount; p++) out[p] = at(p, 0) // luma is the first channel already
  } else {
    for (let p = 0; p < pixelCount; p++)
      out[p] = Math.round(0.299 * at(p, 0) + 0.587 * at(p, 1) + 0.114 * at(p, 2))
  }
  return out
}
