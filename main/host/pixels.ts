// Pixels for the viewer and the studies list. The viewer gets the stored values untouched (it does
// modality LUT, VOI and inversion itself, so W/L never goes back to the server); thumbnails are
// 8-bit after VOI and cached on disk.
import { createHash } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { BinaryResult, DecodedImageMeta, PixelFormat, ThumbnailMeta } from '../../common/contract'
import {
  fileWindow,
  robustWindow,
  storedRange,
  windowFromRange,
  type DecodedImage,
  type GrayImage,
  type VoiWindow
} from '../../common/pixels'
import { transferSyntaxName } from '../core/dicom/transfer-syntax'
import { writeFileAtomic } from '../core/fs-atomic'

/** What the host needs from the decode pool (main/core/dicom/pool.ts fits it). */
export interface ImageDecoder {
  decode(absPath: string, relPath?: string): Promise<DecodedImage>
  thumbnail(absPath: string, size: number, options?: object, relPath?: string): Promise<GrayImage>
  close(): Promise<void>
}

export function pixelPayload(
  imageId: string,
  image: DecodedImage,
  decodeMs: number
): BinaryResult<DecodedImageMeta> {
  const { pixels } = image
  const { min, max, autoWindow } = pixelStats(image)
  const windows = (image.windowCenter ?? []).flatMap((center, i) => {
    const window = fileWindow({ windowCenter: [center], windowWidth: [image.windowWidth?.[i] ?? NaN] })
    return window ? [window] : []
  })
  const meta: DecodedImageMeta = {
    imageId,
    rows: image.rows,
    columns: image.columns,
    bitsAllocated: image.bitsAllocated,
    bitsStored: image.bitsStored,
    pixelRepresentation: image.pixelRepresentation,
    photometric: image.photometric,
    transferSyntaxUid: image.transferSyntaxUid,
    transferSyntaxName: transferSyntaxName(image.transferSyntaxUid),
    rescaleSlope: image.rescaleSlope,
    rescaleIntercept: image.rescaleIntercept,
    fileWindows: windows,
    autoWindow,
    voiLut: image.voiLut
      ? {
          firstValueMapped: image.voiLut.firstMapped,
          numBitsPerEntry: image.voiLut.bits,
          lut: Array.from(image.voiLut.data)
        }
      : null,
    minPixelValue: min,
    maxPixelValue: max,
    pixelFormat: pixelFormatOf(pixels),
    decodeMs
  }
  return { meta, data: new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength) }
}

/**
 * Min, max and the robust 0.5–99.5 percentile window in one histogram pass for 8/16-bit data (the
 * viewer's cold path); the same numbers as robustWindow, which takes two passes and a division per pixel.
 */
export function pixelStats(image: DecodedImage): { min: number; max: number; autoWindow: VoiWindow } {
  const { pixels } = image
  const offset = pixels instanceof Int16Array ? 32768 : pixels instanceof Int8Array ? 128 : 0
  const bins =
    pixels instanceof Uint8Array || pixels instanceof Int8Array
      ? 256
      : pixels instanceof Int32Array
        ? 0
        : 65536
  if (!bins || pixels.length === 0) {
    const { min, max } = storedRange(pixels)
    return { min, max, autoWindow: robustWindow(image) }
  }
  const hist = new Uint32Array(bins)
  for (let i = 0; i < pixels.length; i++) hist[pixels[i] + offset]++
  let low = 0
  while (hist[low] === 0) low++
  let high = bins - 1
  while (hist[high] === 0) high--
  const percentile = (pct: number) => {
    const target = Math.max(1, Math.ceil((pct / 100) * pixels.length))
    let seen = 0
    for (let b = low; b <= high; b++) {
      seen += hist[b]
      if (seen >= target) return b - offset
    }
    return high - offset
  }
  const { rescaleSlope: slope, rescaleIntercept: intercept } = image
  // percentiles of stored values; a negative slope only swaps which end is low in modality units
  const a = percentile(0.5) * slope + intercept
  const b = percentile(99.5) * slope + intercept
  return {
    min: low - offset,
    max: high - offset,
    autoWindow: windowFromRange(Math.min(a, b), Math.max(a, b))
  }
}

function pixelFormatOf(pixels: DecodedImage['pixels']): PixelFormat {
  if (pixels instanceof Uint8Array) return 'uint8'
  if (pixels instanceof Int8Array) return 'int8'
  if (pixels instanceof Uint16Array) return 'uint16'
  if (pixels instanceof Int16Array) return 'int16'
  return 'int32'
}

/**
 * Thumbnails live in the dataset's workspace cache as `<w:u32><h:u32><grey bytes>`, named by a
 * hash of the file's path (image ids are not trusted as file names) and refreshed when the DICOM
 * file is newer.
 */
export async function cachedThumbnail(
  decoder: ImageDecoder,
  cacheDir: string,
  file: { absPath: string; relPath: string; mtimeMs: number },
  size: number
): Promise<BinaryResult<ThumbnailMeta>> {
  const key = createHash('sha1').update(file.relPath).digest('hex').slice(0, 24)
  const cacheFile = join(cacheDir, 'thumbnails', String(size), `${key}.gray`)
  const cached = await stat(cacheFile).catch(() => null)
  if (cached && cached.mtimeMs >= file.mtimeMs) {
    const bytes = await readFile(cacheFile)
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    const width = view.getUint32(0, true)
    const height = view.getUint32(4, true)
    if (bytes.byteLength === 8 + width * height)
      return {
        meta: { width, height },
        data: new Uint8Array(bytes.buffer, bytes.byteOffset + 8, width * height)
      }
  }
  const thumb = await decoder.thumbnail(file.absPath, size, {}, file.relPath)
  const bytes = new Uint8Array(8 + thumb.pixels.byteLength)
  const view = new DataView(bytes.buffer)
  view.setUint32(0, thumb.width, true)
  view.setUint32(4, thumb.height, true)
  bytes.set(thumb.pixels, 8)
  await writeFileAtomic(cacheFile, bytes)
  return { meta: { width: thumb.width, height: thumb.height }, data: thumb.pixels }
}
