// One decoded image on disk: a small header, then the stored values exactly as they lie in memory,
// so a cached open is one read, one checksum and a typed-array view (no copy, no inflate).
//
//   0  "CXRPIX01"               magic and format version
//   8  u32 header length (JSON, UTF-8)
//  12  u32 CRC-32 of every byte after this field (header, padding, pixels)
//  16  header JSON: the image's facts, its cache key, its pixel format and byte count, the viewer's stats
//      padding to a multiple of 8
//      pixels (little-endian, as the platform's typed arrays hold them)
//
// Why uncompressed (scripts/bench-decoded-cache.mjs measures it): on radiograph-like noisy 12-16-bit
// images every lossless option tried saves at most about half the bytes and costs 5-30x the read
// time (zlib level 1 with a byte shuffle: 40-300 ms to inflate a 2336 x 2836 image; LZ4 without a
// shuffle saves nothing on noisy 16-bit words), while a raw read plus CRC-32 takes a few ms.
import { crc32 } from 'node:zlib'
import type { DecodedImage, StoredPixels } from '../../../../common/pixels'
import type { PixelStats } from '../pixel-stats'

const MAGIC = Buffer.from('CXRPIX01', 'latin1')
const PREFIX_BYTES = 16

type PixelFormat = 'uint8' | 'int8' | 'uint16' | 'int16' | 'int32'

interface EntryHeader {
  key: string
  pixelFormat: PixelFormat
  pixelBytes: number
  image: Omit<DecodedImage, 'pixels' | 'voiLut'> & {
    voiLut: (Omit<NonNullable<DecodedImage['voiLut']>, 'data'> & { data: number[] }) | null
  }
  stats: PixelStats
}

/** An entry that is not what the cache wrote: truncated, overwritten, or for another key. */
export class CorruptEntryError extends Error {
  override name = 'CorruptEntryError'
}

/**
 * The entry's bytes with the pixels copied in; the checksum is left for sealEntry(), so the copy is
 * all a caller does before handing the image on (the checksum and the write come after).
 */
export function encodeEntry(key: string, image: DecodedImage, stats: PixelStats): Uint8Array {
  const { pixels, voiLut, ...facts } = image
  const header: EntryHeader = {
    key,
    pixelFormat: pixelFormatOf(pixels),
    pixelBytes: pixels.byteLength,
    image: { ...facts, voiLut: voiLut ? { ...voiLut, data: Array.from(voiLut.data) } : null },
    stats
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8')
  const pixelOffset = align8(PREFIX_BYTES + json.byteLength)
  const bytes = new Uint8Array(pixelOffset + pixels.byteLength)
  const view = new DataView(bytes.buffer)
  bytes.set(MAGIC, 0)
  view.setUint32(8, json.byteLength, true)
  bytes.set(json, PREFIX_BYTES)
  bytes.set(new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength), pixelOffset)
  return bytes
}

/** Writes the checksum into an encoded entry. */
export function sealEntry(bytes: Uint8Array): Uint8Array {
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(12, crc32(bytes.subarray(PREFIX_BYTES)), true)
  return bytes
}

/**
 * The image and stats of an entry read whole into `bytes` (whose byteOffset must be a multiple of 8:
 * a buffer of its own). The pixels are a view into `bytes`. Anything but the entry the cache wrote
 * for `key` is a CorruptEntryError.
 */
export function decodeEntry(bytes: Uint8Array, key: string): { image: DecodedImage; stats: PixelStats } {
  if (bytes.byteLength < PREFIX_BYTES || !MAGIC.equals(bytes.subarray(0, MAGIC.byteLength)))
    throw new CorruptEntryError('not a decoded-pixel cache entry')
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const jsonBytes = view.getUint32(8, true)
  const pixelOffset = align8(PREFIX_BYTES + jsonBytes)
  if (pixelOffset > bytes.byteLength) throw new CorruptEntryError('truncated header')
  if (crc32(bytes.subarray(PREFIX_BYTES)) !== view.getUint32(12, true))
    throw new CorruptEntryError('checksum mismatch (truncated or damaged)')
  let header: EntryHeader
  try {
    header = JSON.parse(
      Buffer.from(bytes.buffer, bytes.byteOffset + PREFIX_BYTES, jsonBytes).toString('utf8')
    )
  } catch {
    throw new CorruptEntryError('unreadable header')
  }
  if (header.key !== key) throw new CorruptEntryError('entry of another file')
  const { image: facts } = header
  const bytesPer = BYTES_PER[header.pixelFormat]
  if (
    !bytesPer ||
    header.pixelBytes !== facts.rows * facts.columns * bytesPer ||
    pixelOffset + header.pixelBytes !== bytes.byteLength ||
    (bytes.byteOffset + pixelOffset) % bytesPer !== 0
  )
    throw new CorruptEntryError('pixel data does not match the header')
  const pixels = pixelView(
    header.pixelFormat,
    bytes.buffer,
    bytes.byteOffset + pixelOffset,
    facts.rows * facts.columns
  )
  const voiLut = facts.voiLut ? { ...facts.voiLut, data: Uint16Array.from(facts.voiLut.data) } : null
  return { image: { ...facts, voiLut, pixels }, stats: header.stats }
}

/**
 * A copy of the pixels in a buffer of their own. Not `pixels.slice()`: a Node Buffer (what inflated
 * data decodes to) slices into the same memory, which the caller's transfer would then take away.
 */
export function copyPixels(pixels: StoredPixels): StoredPixels {
  const bytes = new Uint8Array(pixels.byteLength)
  bytes.set(new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength))
  return pixelView(pixelFormatOf(pixels), bytes.buffer, 0, pixels.length)
}

const BYTES_PER: Record<PixelFormat, number> = { uint8: 1, int8: 1, uint16: 2, int16: 2, int32: 4 }

function align8(offset: number): number {
  return (offset + 7) & ~7
}

function pixelFormatOf(pixels: StoredPixels): PixelFormat {
  if (pixels instanceof Uint8Array) return 'uint8'
  if (pixels instanceof Int8Array) return 'int8'
  if (pixels instanceof Uint16Array) return 'uint16'
  if (pixels instanceof Int16Array) return 'int16'
  return 'int32'
}

function pixelView(
  format: PixelFormat,
  buffer: ArrayBufferLike,
  offset: number,
  count: number
): StoredPixels {
  switch (format) {
    case 'uint8':
      return new Uint8Array(buffer, offset, count)
    case 'int8':
      return new Int8Array(buffer, offset, count)
    case 'uint16':
      return new Uint16Array(buffer, offset, count)
    case 'int16':
      return new Int16Array(buffer, offset, count)
    case 'int32':
      return new Int32Array(buffer, offset, count)
  }
}
