// Pixels for the viewer and the studies list. The viewer gets the stored values untouched (it does
// modality LUT, VOI and inversion itself, so W/L never goes back to the server); thumbnails are
// 8-bit after VOI and cached on disk.
import type {
  BinaryResult,
  DecodedImageMeta,
  ImagePreviewMeta,
  PixelFormat,
  ThumbnailMeta
} from '../../../common/contract'
import { fileWindow, type DecodedImage, type GrayImage } from '../../../common/pixels'
import type { DecodeJobOptions, WarmResult } from '../../core/dicom/pool'
import type { PixelStats } from '../../core/dicom/pixel-stats'
import type { ImagePreview } from '../../core/dicom/preview'
import { transferSyntaxName } from '../../core/dicom/transfer-syntax'
import type { ThumbnailCache } from './thumbnail-cache'

export { pixelStats } from '../../core/dicom/pixel-stats'

/** What the host needs from the decode pool (main/core/dicom/pool.ts fits it). */
export interface ImageDecoder {
  decode(absPath: string, relPath?: string, job?: DecodeJobOptions): Promise<DecodedImage>
  decodeWithStats(
    absPath: string,
    relPath?: string,
    job?: DecodeJobOptions
  ): Promise<{ image: DecodedImage; stats: PixelStats }>
  thumbnail(
    absPath: string,
    size: number,
    options?: object,
    relPath?: string,
    job?: DecodeJobOptions
  ): Promise<GrayImage>
  preview(absPath: string, relPath?: string): Promise<ImagePreview | null>
  warm(transferSyntaxUids?: Iterable<string>): Promise<WarmResult>
  close(): Promise<void>
}

export function pixelPayload(
  imageId: string,
  image: DecodedImage,
  stats: PixelStats,
  decodeMs: number
): BinaryResult<DecodedImageMeta> {
  const { pixels } = image
  const { min, max, autoWindow } = stats
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

/** The preview as the viewer gets it: the reduced image's pixels and meta, plus the full size. */
export function previewPayload(
  imageId: string,
  preview: ImagePreview | null,
  decodeMs: number
): BinaryResult<ImagePreviewMeta> {
  if (!preview) return { meta: { preview: null }, data: new Uint8Array(0) }
  const { meta, data } = pixelPayload(imageId, preview.image, preview.stats, decodeMs)
  return {
    meta: {
      preview: {
        ...meta,
        fullRows: preview.fileRows,
        fullColumns: preview.fileColumns,
        factor: preview.factor,
        origin: preview.origin,
        method: preview.method,
        fullStats: preview.fullStats
      }
    },
    data
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
 * A thumbnail from the workspace cache, else made by background decode work and cached as
 * `<w:u32><h:u32><grey bytes>`.
 */
export async function cachedThumbnail(
  decoder: ImageDecoder,
  cache: ThumbnailCache,
  datasetCacheDir: string,
  file: { absPath: string; relPath: string; mtimeMs: number },
  size: number
): Promise<BinaryResult<ThumbnailMeta>> {
  const cacheFile = cache.fileFor(datasetCacheDir, file, size)
  const bytes = await cache.read(cacheFile)
  if (bytes && bytes.byteLength >= 8) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    const width = view.getUint32(0, true)
    const height = view.getUint32(4, true)
    if (bytes.byteLength === 8 + width * height)
      return {
        meta: { width, height },
        data: new Uint8Array(bytes.buffer, bytes.byteOffset + 8, width * height)
      }
  }
  const thumb = await decoder.thumbnail(file.absPath, size, {}, file.relPath, { priority: 'background' })
  const framed = new Uint8Array(8 + thumb.pixels.byteLength)
  const view = new DataView(framed.buffer)
  view.setUint32(0, thumb.width, true)
  view.setUint32(4, thumb.height, true)
  framed.set(thumb.pixels, 8)
  await cache.write(cacheFile, framed)
  return { meta: { width: thumb.width, height: thumb.height }, data: thumb.pixels }
}
