// Decoding the first frame of a DICOM file into stored values plus the header facts the pixel
// pipeline needs (common/pixels). Colour images are converted to grey (luma): CXR Studio shows
// and trains on grey radiographs, and a colour secondary capture is better seen grey than refused.
import type { DataSet } from 'dicom-parser'
import { closeSync, fstatSync, openSync, readSync } from 'node:fs'
import { open } from 'node:fs/promises'
import type { DecodedImage, StoredPixels, VoiLut } from '../../../common/pixels'
import { FileReadError, errorMessage } from '../errors'
import { decodeJpegDct } from './codecs/jpeg-dct'
import { decodeJpegLossless } from './codecs/jpeg-lossless'
import { decodeRle } from './codecs/rle'
import {
  type CodecFrame,
  decodeJpeg2000,
  decodeJpeg8,
  decodeJpegLs,
  jpeg2000Decompositions
} from './codecs/wasm'
import { encapsulatedFrame, nativeFrame } from './frames'
import { parseWholeFile } from './deflated'
import { checkImageFacts, imageFacts } from './facts'
import { PIXEL_DATA } from './parse'
import { colourToGrey, toStoredValues } from './stored-values'
import { TS, isNative, transferSyntaxName, unsupportedReason } from './transfer-syntax'

type Facts = ReturnType<typeof imageFacts>

/** Decoded samples of one frame before masking: grey or 3-channel, plus how many bits are significant. */
interface Samples {
  values: ArrayLike<number>
  /** `values` is memory of this decode alone (a codec's output, a copy, or a file read for it). */
  owned: boolean
  components: number
  planar: boolean
  significantBits?: number
  width?: number
  height?: number
}

export interface DecodeOptions {
  /**
   * Read on the calling thread. Decode workers do, so the image the user waits for never queues in
   * libuv's shared thread pool behind other file work (thumbnail writes and their fsyncs).
   */
  syncRead?: boolean
}

export async function decodeFile(
  absPath: string,
  relPath: string = absPath,
  options: DecodeOptions = {}
): Promise<DecodedImage> {
  return (await decodeRead(absPath, relPath, options, 0)).image
}

/** A decode and the size of the image in the file, which a reduced decode is smaller than. */
export interface ReducedDecode {
  image: DecodedImage
  fileRows: number
  fileColumns: number
}

/**
 * Frame 0 at most `maxSide` pixels a side where the codec can stop early, else whole: JPEG 2000
 * stops at the wavelet level whose image fits (2^level times smaller, ceil-rounded) and skips the
 * code-blocks of every finer one, a fraction of the full decode's cost (the viewer's preview).
 * Other syntaxes decode whole; a codestream with too few decompositions stops at its coarsest level.
 */
export function decodeFileReduced(
  absPath: string,
  relPath: string,
  maxSide: number,
  options: DecodeOptions = {}
): Promise<ReducedDecode> {
  return decodeRead(absPath, relPath, options, maxSide)
}

async function decodeRead(
  absPath: string,
  relPath: string,
  options: DecodeOptions,
  maxSide: number
): Promise<ReducedDecode> {
  let bytes: Uint8Array
  try {
    bytes = options.syncRead ? readWholeSync(absPath) : await readWhole(absPath)
  } catch (err) {
    throw new FileReadError(
      relPath,
      `cannot read: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}`
    )
  }
  return decodeOwnBytes(bytes, relPath, true, maxSide)
}

/**
 * The file in one read into a buffer of its own (readFile takes 512 KiB per thread-pool round trip,
 * 16 of them for a 2k x 2k image); native pixels are then viewed in place, not copied.
 */
async function readWhole(absPath: string): Promise<Uint8Array> {
  const handle = await open(absPath, 'r')
  try {
    const { size } = await handle.stat()
    const bytes = new Uint8Array(Buffer.allocUnsafeSlow(size).buffer, 0, size)
    let filled = 0
    while (filled < size) {
      const { bytesRead } = await handle.read(bytes, filled, size - filled, filled)
      if (bytesRead === 0) break
      filled += bytesRead
    }
    return bytes.subarray(0, filled)
  } finally {
    await handle.close()
  }
}

function readWholeSync(absPath: string): Uint8Array {
  const fd = openSync(absPath, 'r')
  try {
    const { size } = fstatSync(fd)
    const bytes = new Uint8Array(Buffer.allocUnsafeSlow(size).buffer, 0, size)
    let filled = 0
    while (filled < size) {
      const bytesRead = readSync(fd, bytes, filled, size - filled, filled)
      if (bytesRead === 0) break
      filled += bytesRead
    }
    return bytes.subarray(0, filled)
  } finally {
    closeSync(fd)
  }
}

/** Decodes frame 0 of a complete DICOM file held in memory; `path` names it in errors. */
export async function decodeBytes(bytes: Uint8Array, path: string): Promise<DecodedImage> {
  return (await decodeOwnBytes(bytes, path, false, 0)).image
}

/**
 * `owned`: nobody else holds `bytes`, so native pixels may be viewed and masked in place. `maxSide`
 * > 0: a JPEG 2000 image may stop at a coarser wavelet level (decodeFileReduced).
 */
async function decodeOwnBytes(
  bytes: Uint8Array,
  path: string,
  owned: boolean,
  maxSide: number
): Promise<ReducedDecode> {
  const { dataSet, transferSyntaxUid } = await parseWholeFile(bytes, path)
  const fileFacts = imageFacts(dataSet)
  checkImageFacts(path, fileFacts)
  const level = isJpeg2000(transferSyntaxUid) ? jpeg2000LevelFor(dataSet, fileFacts, maxSide, path) : 0
  // the frame is found with the file's geometry; everything after it sees the reduced image
  const facts = level > 0 ? reducedFacts(fileFacts, level) : fileFacts
  if (facts.photometric === 'PALETTE COLOR')
    throw new FileReadError(path, 'PALETTE COLOR images are not supported')
  if (facts.samplesPerPixel !== 1 && facts.samplesPerPixel !== 3)
    throw new FileReadError(path, `unsupported Samples per Pixel ${facts.samplesPerPixel}`)
  let samples: Samples
  try {
    samples = await decodeSamples(dataSet, transferSyntaxUid, fileFacts, path, owned, level)
  } catch (err) {
    if (err instanceof FileReadError) throw err
    throw new FileReadError(
      path,
      `cannot decode ${transferSyntaxName(transferSyntaxUid)} pixel data: ${errorMessage(err)}`
    )
  }
  if (
    (samples.width !== undefined && samples.width !== facts.columns) ||
    (samples.height !== undefined && samples.height !== facts.rows)
  ) {
    throw new FileReadError(
      path,
      `compressed image is ${samples.width}x${samples.height}, the header says ${facts.columns}x${facts.rows}`
    )
  }
  const pixelCount = facts.rows * facts.columns
  const grey =
    samples.components === 3
      ? colourToGrey(samples.values, pixelCount, facts.photometric, samples.planar)
      : samples.values
  if (grey.length < pixelCount)
    throw new FileReadError(path, `pixel data holds ${grey.length} samples, the image needs ${pixelCount}`)
  let pixels: StoredPixels
  try {
    const layout = samples.components === 3 ? { ...facts, pixelRepresentation: 0 } : facts
    pixels = toStoredValues(
      grey.length > pixelCount ? sliceOf(grey, pixelCount) : grey,
      layout,
      samples.significantBits,
      // converted grey is always fresh; raw samples only when the decode owns them
      grey !== samples.values || samples.owned
    )
  } catch (err) {
    throw new FileReadError(path, errorMessage(err))
  }
  const colour = samples.components === 3
  const image: DecodedImage = {
    rows: facts.rows,
    columns: facts.columns,
    bitsAllocated: facts.bitsAllocated,
    bitsStored: facts.bitsStored,
    highBit: facts.highBit,
    pixelRepresentation: colour ? 0 : facts.pixelRepresentation,
    photometric: colour ? 'MONOCHROME2' : facts.photometric,
    samplesPerPixel: 1,
    transferSyntaxUid,
    rescaleSlope: facts.rescaleSlope,
    rescaleIntercept: facts.rescaleIntercept,
    windowCenter: facts.windowCenter,
    windowWidth: facts.windowWidth,
    voiLut: readVoiLut(dataSet, facts.pixelRepresentation === 1),
    pixels
  }
  return { image, fileRows: fileFacts.rows, fileColumns: fileFacts.columns }
}

const isJpeg2000 = (uid: string) => uid === TS.jpeg2000Lossless || uid === TS.jpeg2000

/** The level that fits `maxSide`, or the coarsest the codestream holds if that is not enough. */
function jpeg2000LevelFor(dataSet: DataSet, facts: Facts, maxSide: number, path: string): number {
  const level = reductionLevel(facts.rows, facts.columns, maxSide)
  if (level === 0 || facts.numberOfFrames > 1) return 0
  const frame = encapsulatedFrame(dataSet, dataSet.elements[PIXEL_DATA], facts, path)
  return Math.min(level, jpeg2000Decompositions(frame) ?? 0)
}

/** The smallest level L at which ceil(side / 2^L) <= maxSide for both sides (0: it fits already). */
export function reductionLevel(rows: number, columns: number, maxSide: number): number {
  if (maxSide <= 0) return 0
  let level = 0
  while (Math.ceil(Math.max(rows, columns) / 2 ** level) > maxSide) level++
  return level
}

function reducedFacts(facts: Facts, level: number): Facts {
  const scale = 2 ** level
  return { ...facts, rows: Math.ceil(facts.rows / scale), columns: Math.ceil(facts.columns / scale) }
}

function sliceOf(values: ArrayLike<number>, count: number): ArrayLike<number> {
  return ArrayBuffer.isView(values)
    ? (values as unknown as Uint8Array).subarray(0, count)
    : Array.prototype.slice.call(values, 0, count)
}

async function decodeSamples(
  dataSet: DataSet,
  uid: string,
  facts: Facts,
  path: string,
  ownedBytes: boolean,
  jpeg2000Level = 0
): Promise<Samples> {
  const pixelData = dataSet.elements[PIXEL_DATA]
  const layout = facts
  const planar = dataSet.uint16('x00280006') === 1
  const components = facts.samplesPerPixel
  if (isNative(uid)) {
    const raw = nativeFrame(dataSet, pixelData, layout, path)
    return {
      values: nativeSamples(
        raw,
        facts.bitsAllocated,
        uid === TS.explicitBig,
        facts.pixelRepresentation === 1,
        ownedBytes
      ),
      owned: true,
      components,
      planar
    }
  }
  if (!pixelData.encapsulatedPixelData && !pixelData.hadUndefinedLength) {
    throw new FileReadError(
      path,
      `${transferSyntaxName(uid)} requires encapsulated pixel data, found a native value`
    )
  }
  const bytesPerSample = facts.bitsAllocated <= 8 ? 1 : 2
  switch (uid) {
    case TS.rle: {
      const frame = encapsulatedFrame(dataSet, pixelData, layout, path)
      const bytesPer = Math.ceil(facts.bitsAllocated / 8)
      const raw = decodeRle(frame, facts.rows * facts.columns, bytesPer, components)
      return {
        values: nativeSamples(raw, facts.bitsAllocated, false, facts.pixelRepresentation === 1, true),
        owned: true,
        components,
        planar: false
      }
    }
    case TS.jpegLosslessP14:
    case TS.jpegLosslessSV1: {
      const frame = encapsulatedFrame(dataSet, pixelData, layout, path)
      const decoded = decodeJpegLossless(frame, bytesPerSample)
      return {
        values: decoded.samples,
        owned: true,
        components: decoded.components,
        planar: false,
        width: decoded.width,
        height: decoded.height
      }
    }
    case TS.jpegBaseline:
    case TS.jpegExtended: {
      const frame = encapsulatedFrame(dataSet, pixelData, layout, path)
      if (jpegPrecision(frame) > 8) {
        const decoded = decodeJpegDct(frame)
        // the IDCT's range limit already keeps unsigned samples within the precision: no masking pass
        const inRange = facts.pixelRepresentation === 0 && decoded.precision <= facts.bitsStored
        return {
          values: decoded.pixels,
          owned: true,
          components: 1,
          planar: false,
          width: decoded.width,
          height: decoded.height,
          ...(inRange ? { significantBits: 16 } : {})
        }
      }
      return codecSamples(await decodeJpeg8(frame), facts)
    }
    case TS.jpegLsLossless:
    case TS.jpegLsNearLossless:
      return codecSamples(await decodeJpegLs(encapsulatedFrame(dataSet, pixelData, layout, path)), facts)
    case TS.jpeg2000Lossless:
    case TS.jpeg2000:
      return codecSamples(
        await decodeJpeg2000(encapsulatedFrame(dataSet, pixelData, layout, path), jpeg2000Level),
        facts
      )
    default:
      throw new FileReadError(path, unsupportedReason(uid))
  }
}

/**
 * Typed view of native little/big-endian samples. `inPlace` (the bytes belong to this decode): an
 * aligned little-endian frame is viewed where it lies; otherwise it is copied into an aligned buffer.
 */
function nativeSamples(
  raw: Uint8Array,
  bitsAllocated: number,
  bigEndian: boolean,
  signed: boolean,
  inPlace: boolean
): ArrayLike<number> {
  if (bitsAllocated === 1) {
    const bits = new Uint8Array(raw.length * 8)
    for (let i = 0; i < bits.length; i++) bits[i] = (raw[i >> 3] >> (i & 7)) & 1
    return bits
  }
  if (bitsAllocated === 8) return inPlace && raw.byteLength * 2 >= raw.buffer.byteLength ? raw : raw.slice()
  const width = bitsAllocated / 8
  // not when the frame is a small part of the file (multi-frame): the view would keep all of it alive
  const view =
    inPlace && !bigEndian && raw.byteOffset % width === 0 && raw.byteLength * 2 >= raw.buffer.byteLength
  const bytes = view ? raw : raw.slice()
  const count = Math.floor(bytes.length / width)
  if (bigEndian) {
    const words = Buffer.from(bytes.buffer, bytes.byteOffset, count * width)
    if (width === 2) words.swap16()
    else words.swap32()
  }
  const { buffer, byteOffset } = bytes
  if (bitsAllocated === 16)
    return signed ? new Int16Array(buffer, byteOffset, count) : new Uint16Array(buffer, byteOffset, count)
  return signed ? new Int32Array(buffer, byteOffset, count) : new Uint32Array(buffer, byteOffset, count)
}

function codecSamples(frame: CodecFrame, facts: Facts): Samples {
  const { bytes, bitsPerSample, isSigned } = frame
  const wide = bitsPerSample > 8
  const values = wide
    ? isSigned
      ? new Int16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 1)
      : new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 1)
    : isSigned
      ? new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
      : bytes
  // a JPEG 2000 codestream may be wider than Bits Stored (e.g. gdcm writes 16-bit codestreams for
  // 12-bit images); its values are then used unmasked, as pydicom and gdcm do
  const significantBits = bitsPerSample > facts.bitsStored ? bitsPerSample : facts.bitsStored
  return {
    values,
    owned: true,
    components: frame.componentCount,
    planar: false,
    significantBits,
    width: frame.width,
    height: frame.height
  }
}

/** Sample precision from the JPEG SOF marker (8 or 12 for DCT processes). */
function jpegPrecision(frame: Uint8Array): number {
  for (let i = 2; i + 4 < frame.length;) {
    if (frame[i] !== 0xff) return 8
    const marker = frame[i + 1]
    if (marker === 0xff) {
      i++
      continue
    }
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc)
      return frame[i + 4]
    i += 2 + ((frame[i + 2] << 8) | frame[i + 3])
  }
  return 8
}

function readVoiLut(dataSet: DataSet, signed: boolean): VoiLut | null {
  const item = dataSet.elements['x00283010']?.items?.[0]?.dataSet
  const descriptor = item?.elements['x00283002']
  const lutData = item?.elements['x00283006']
  if (!item || !descriptor || !lutData) return null
  const entries = item.uint16('x00283002', 0) || 65536
  const firstRaw = item.uint16('x00283002', 1) ?? 0
  // the first mapped value is SS for signed images
  const firstMapped = signed && firstRaw >= 0x8000 ? firstRaw - 0x10000 : firstRaw
  const bits = item.uint16('x00283002', 2) ?? 16
  const data = new Uint16Array(entries)
  if (lutData.length >= entries * 2) {
    for (let i = 0; i < entries; i++) data[i] = item.uint16('x00283006', i) ?? 0
  } else if (lutData.length >= entries) {
    for (let i = 0; i < entries; i++) data[i] = item.byteArray[lutData.dataOffset + i]
  } else return null
  const explanation = item.string('x00283003')
  return { firstMapped, bits, data, ...(explanation ? { explanation } : {}) }
}
