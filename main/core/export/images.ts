// Exported PNGs: decode through the pool, render (8-bit display or 16-bit modality), resize, write.
import { join } from 'node:path'
import { PNG } from 'pngjs'
import type { FileError, ProgressListener } from '../../../common/domain'
import { modalityValues, renderDisplay, resizeGray, type DecodedImage } from '../../../common/pixels'
import { errorMessage, FileReadError } from '../errors'
import { writeFileAtomic } from '../fs-atomic'
import type { ImageFormat, PlannedImage } from './plan'

/** What exports need from the decode pool (main/core/dicom/pool.ts implements it). */
export interface PixelDecoder {
  /** `relPath` names the file in error messages. */
  decode(absPath: string, relPath?: string): Promise<DecodedImage>
}

/** `images/<subset>/<imageId>.png`, relative to the export folder (COCO file_name, YOLO layout). */
export function exportedImagePath(item: PlannedImage): string {
  return `images/${item.subset}/${item.image.imageId}.png`
}

/** Grey pixels of the exported frame: uint8 after VOI, or uint16 modality values (clamped to 0..65535). */
export function exportPixels(
  decoded: DecodedImage,
  format: ImageFormat,
  width: number,
  height: number
): Uint8Array | Uint16Array {
  const { columns, rows } = decoded
  if (format === 'png8') {
    const display = renderDisplay(decoded)
    return width === columns && height === rows ? display : resizeGray(display, columns, rows, width, height)
  }
  const values = Float32Array.from(modalityValues(decoded))
  const sized =
    width === columns && height === rows ? values : resizeGray(values, columns, rows, width, height)
  const out = new Uint16Array(sized.length)
  for (let i = 0; i < sized.length; i++) out[i] = Math.min(65535, Math.max(0, Math.round(sized[i])))
  return out
}

export function encodeGrayPng(pixels: Uint8Array | Uint16Array, width: number, height: number): Buffer {
  const bitDepth = pixels instanceof Uint16Array ? 16 : 8
  // pngjs reads 16-bit input as native-endian uint16 and writes the big-endian PNG samples itself.
  const data = Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength)
  return PNG.sync.write({ width, height, data } as PNG, {
    colorType: 0,
    inputColorType: 0,
    inputHasAlpha: false,
    bitDepth
  })
}

export interface WriteImagesOptions {
  datasetRoot: string
  outDir: string
  format: ImageFormat
  decoder: PixelDecoder
  /** Images decoded at once: enough to keep the pool's workers busy, few enough to bound memory. */
  concurrency?: number
  onProgress?: ProgressListener
  signal?: AbortSignal
}

/**
 * Writes one PNG per planned image. An image that cannot be decoded becomes an error and is
 * left out (the returned set holds the images that were written).
 */
export async function writeExportImages(
  items: readonly PlannedImage[],
  options: WriteImagesOptions
): Promise<{ written: Set<PlannedImage>; errors: FileError[] }> {
  const written = new Set<PlannedImage>()
  const errors: FileError[] = []
  const total = items.length
  let next = 0
  let done = 0
  options.onProgress?.({ stage: 'export images', done, total })

  const work = async () => {
    while (next < items.length) {
      options.signal?.throwIfAborted()
      const item = items[next++]
      try {
        const decoded = await options.decoder.decode(join(options.datasetRoot, item.path), item.path)
        if (decoded.columns !== item.originalWidth || decoded.rows !== item.originalHeight) {
          throw new Error(
            `decoded size ${decoded.columns}x${decoded.rows} differs from the indexed ${item.originalWidth}x${item.originalHeight}; re-open the dataset`
          )
        }
        const pixels = exportPixels(decoded, options.format, item.width, item.height)
        await writeFileAtomic(
          join(options.outDir, exportedImagePath(item)),
          encodeGrayPng(pixels, item.width, item.height)
        )
        written.add(item)
      } catch (err) {
        if (options.signal?.aborted) throw err
        errors.push({
          path: item.path,
          reason: `not exported: ${err instanceof FileReadError ? err.reason : errorMessage(err)}`
        })
      }
      options.onProgress?.({ stage: 'export images', done: ++done, total })
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 4) }, work))
  return { written, errors }
}
