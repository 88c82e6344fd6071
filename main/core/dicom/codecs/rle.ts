// DICOM RLE Lossless (PS3.5 Annex G): PackBits segments, one per byte plane, most significant first.

/** Decodes one RLE frame into little-endian, pixel-interleaved samples. */
export function decodeRle(
  data: Uint8Array,
  pixelCount: number,
  bytesPerSample: number,
  samplesPerPixel: number
): Uint8Array {
  if (data.length < 64) throw new Error(`RLE frame too short (${data.length} bytes, header needs 64)`)
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  const segments = view.getUint32(0, true)
  if (segments !== bytesPerSample * samplesPerPixel) {
    throw new Error(`RLE frame has ${segments} segments, expected ${bytesPerSample * samplesPerPixel}`)
  }
  // not zero-filled: every segment writes each of its bytes or throws
  const size = pixelCount * bytesPerSample * samplesPerPixel
  const out = new Uint8Array(Buffer.allocUnsafeSlow(size).buffer, 0, size)
  const stride = bytesPerSample * samplesPerPixel
  for (let s = 0; s < segments; s++) {
    const sample = Math.floor(s / bytesPerSample)
    const byteInSample = bytesPerSample - 1 - (s % bytesPerSample) // segments go MSB first
    let outPos = sample * bytesPerSample + byteInSample
    const outEnd = outPos + pixelCount * stride
    let i = view.getUint32(4 + 4 * s, true)
    const end = s + 1 < segments ? view.getUint32(8 + 4 * s, true) : data.length
    if (i < 64 || i > data.length || end > data.length)
      throw new Error(`RLE segment ${s + 1} offset out of range`)
    // each packet's length bounded once (by the segment and the image), so the copy loops test one thing
    while (i < end && outPos < outEnd) {
      const n = data[i++]
      if (n < 128) {
        const count = Math.min(n + 1, end - i, (outEnd - outPos) / stride)
        for (let k = 0; k < count; k++, outPos += stride) out[outPos] = data[i + k]
        i += count
      } else if (n > 128) {
        const value = data[i++]
        const count = Math.min(257 - n, (outEnd - outPos) / stride)
        for (let k = 0; k < count; k++, outPos += stride) out[outPos] = value
      }
    }
    if (outPos < outEnd) throw new Error(`RLE segment ${s + 1} decodes to fewer bytes than the image needs`)
  }
  return out
}
