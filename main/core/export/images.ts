// Exported PNGs: decode through the pool, render (8-bit display, or the same display on 16 bits), resize, write.
import { join } from 'node:path'
import { PNG } from 'pngjs'
import type { FileError, ProgressListener } from '../../../common/domain'
import {
  chooseVoi,
  linearVoi,
  renderDisplay,
  resizeGray,
  voiLutValue,
  type DecodedImage,
  type VoiChoice
} from '../../../common/pixels'
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

/** How a png16 sample relates to the DICOM: recorded in COCO `info.pixels`, dataset.yaml and the summary. */
export const PNG16_PIXELS =
  'the same VOI as png8 (the file window, else its VOI LUT, else the 0.5-99.5 percentile window) and ' +
  'MONOCHROME1 inversion, scaled to 0..65535 instead of 0..255 (value = png8 value x 257 before rounding), ' +
  'so a reader that keeps the high byte (OpenCV, Ultralytics) sees the png8 image; modality values outside ' +
  'the window are clamped to the ends of 0..65535 and every image where that happened is listed'
export const PNG8_PIXELS =
  'display values after the file VOI (or 0.5-99.5 percentile window), MONOCHROME1 inverted'

/** Modality values of one image that fell outside its VOI input range: clamped to black or white. */
export interface ClampedValues {
  below: number
  above: number
  total: number
  /** The VOI in words, e.g. "the file's window (center 1024, width 2048)". */
  voi: string
}

export interface ExportedPixels {
  pixels: Uint8Array | Uint16Array
  /** png16 only (png8 is a display image, windowed by design). */
  clamped: ClampedValues | null
}

/** Grey pixels of the exported frame: uint8 after VOI, or the same VOI on 0..65535 (png16). */
export function exportPixels(
  decoded: DecodedImage,
  format: ImageFormat,
  width: number,
  height: number
): ExportedPixels {
  const { columns, rows } = decoded
  const same = width === columns && height === rows
  if (format === 'png8') {
    const display = renderDisplay(decoded)
    return { pixels: same ? display : resizeGray(display, columns, rows, width, height), clamped: null }
  }
  const { values, clamped } = display16(decoded)
  // Resized as floats and rounded once; the filters average, so the result stays within 0..65535.
  const sized = same ? values : resizeGray(values, columns, rows, width, height)
  return { pixels: Uint16Array.from(sized, Math.round), clamped }
}

/** 65535 / 255: the png8 display scale stretched to 16 bits. */
const SCALE_16 = 257

/**
 * The display pipeline of renderDisplay (modality LUT -> VOI -> MONOCHROME1 inversion), kept as
 * floats on 0..65535: a 12-bit or signed image fills the 16 bits instead of its raw values landing
 * in the low bits (or below zero). Counts the modality values outside the VOI's input range.
 */
function display16(decoded: DecodedImage): { values: Float32Array; clamped: ClampedValues } {
  const voi = chooseVoi(decoded)
  const invert = decoded.photometric === 'MONOCHROME1'
  // linearVoi is black at or below `low` and white above `high` (PS3.3 C.11.2.1.2.1); a VOI LUT
  // takes its first/last entry outside the rounded input range it covers.
  const { low, high } =
    voi.kind === 'window'
      ? {
          low: voi.window.center - 0.5 - (voi.window.width - 1) / 2,
          high: voi.window.center - 0.5 + (voi.window.width - 1) / 2
        }
      : { low: voi.lut.firstMapped - 0.5, high: voi.lut.firstMapped + voi.lut.data.length - 0.5 }
  const { pixels, rescaleSlope: slope, rescaleIntercept: intercept } = decoded
  const values = new Float32Array(pixels.length)
  let below = 0
  let above = 0
  for (let i = 0; i < pixels.length; i++) {
    const modality = pixels[i] * slope + intercept
    if (modality < low) below++
    else if (modality > high) above++
    const y =
      (voi.kind === 'window' ? linearVoi(modality, voi.window) : voiLutValue(modality, voi.lut)) * SCALE_16
    values[i] = invert ? 65535 - y : y
  }
  return { values, clamped: { below, above, total: pixels.length, voi: describeVoi(voi) } }
}

function describeVoi(voi: VoiChoice): string {
  if (voi.kind === 'lut') return "the file's VOI LUT"
  const { center, width } = voi.window
  if (voi.source === 'file') return `the file's window (center ${center}, width ${width})`
  return `the 0.5-99.5 percentile window (center ${round(center)}, width ${round(width)})`
}

/** The warning of an image whose png16 values were clamped, or null when none were. */
export function clampedWarning(clamped: ClampedValues): string | null {
  const { below, above, total, voi } = clamped
  if (below === 0 && above === 0) return null
  const pct = (n: number) => `${Number(((100 * n) / total).toPrecision(2))}%`
  return (
    `png16: ${below} pixel(s) (${pct(below)}) below and ${above} (${pct(above)}) above ${voi} ` +
    'were clamped to the ends of 0..65535'
  )
}

const round = (v: number) => Math.round(v * 100) / 100

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

/** How an export writes a file; tests pass one that fills up like a small disk. */
export type ExportFileWriter = (path: string, data: Uint8Array) => Promise<void>

export interface WriteImagesOptions {
  datasetRoot: string
  outDir: string
  format: ImageFormat
  decoder: PixelDecoder
  /** Default: writeFileAtomic. */
  writeFile?: ExportFileWriter
  /** Images decoded at once: enough to keep the pool's workers busy, few enough to bound memory. */
  concurrency?: number
  onProgress?: ProgressListener
  signal?: AbortSignal
}

export interface WrittenImages {
  written: Set<PlannedImage>
  /** Images left out: their DICOM could not be decoded (a problem of the dataset, listed). */
  errors: FileError[]
  /** Images whose PNG could not be written (a problem of the output: the export failed), `path` the PNG. */
  failed: FileError[]
  /** Images not tried after a write found the disk full or read-only (`stoppedBy`: its errno code). */
  notTried: number
  stoppedBy: string | null
  /** Images written with values clamped (png16), one per image with the counts. */
  warnings: FileError[]
}

/** Write errors after which no other image can be written either: stop instead of decoding them all. */
const DISK_ERRORS = new Set(['ENOSPC', 'EDQUOT', 'EROFS'])

/**
 * Writes one PNG per planned image. An image that cannot be decoded becomes an error and is left
 * out; one that cannot be written is a failure, and after a full or read-only disk the rest are not
 * tried (the returned set holds the images that were written).
 */
export async function writeExportImages(
  items: readonly PlannedImage[],
  options: WriteImagesOptions
): Promise<WrittenImages> {
  const written = new Set<PlannedImage>()
  const errors: FileError[] = []
  const failed: FileError[] = []
  const warnings: FileError[] = []
  const writeFile = options.writeFile ?? writeFileAtomic
  let stoppedBy: string | null = null
  const total = items.length
  let next = 0
  let done = 0
  options.onProgress?.({ stage: 'export images', done, total })

  const work = async () => {
    while (next < items.length && !stoppedBy) {
      options.signal?.throwIfAborted()
      const item = items[next++]
      let png: { data: Uint8Array; clamped: ClampedValues | null }
      try {
        const decoded = await options.decoder.decode(join(options.datasetRoot, item.path), item.path)
        if (decoded.columns !== item.originalWidth || decoded.rows !== item.originalHeight) {
          throw new Error(
            `decoded size ${decoded.columns}x${decoded.rows} differs from the indexed ${item.originalWidth}x${item.originalHeight}; re-open the dataset`
          )
        }
        const { pixels, clamped } = exportPixels(decoded, options.format, item.width, item.height)
        png = { data: encodeGrayPng(pixels, item.width, item.height), clamped }
      } catch (err) {
        if (options.signal?.aborted) throw err
        errors.push({
          path: item.path,
          reason: `not exported: ${err instanceof FileReadError ? err.reason : errorMessage(err)}`
        })
        options.onProgress?.({ stage: 'export images', done: ++done, total })
        continue
      }
      const out = join(options.outDir, exportedImagePath(item))
      try {
        await writeFile(out, png.data)
        written.add(item)
        const warning = png.clamped && clampedWarning(png.clamped)
        if (warning) warnings.push({ path: item.path, reason: warning })
      } catch (err) {
        if (options.signal?.aborted) throw err
        failed.push({ path: out, reason: errorMessage(err) })
        const code = errorCode(err)
        if (code && DISK_ERRORS.has(code)) stoppedBy = code
      }
      options.onProgress?.({ stage: 'export images', done: ++done, total })
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 4) }, work))
  // workers finish out of order: list in plan order, so two exports of the same data read the same
  const order = new Map(items.map((item, i) => [item.path, i]))
  for (const list of [errors, warnings]) list.sort((a, b) => order.get(a.path)! - order.get(b.path)!)
  const pngOrder = new Map(items.map((item, i) => [join(options.outDir, exportedImagePath(item)), i]))
  failed.sort((a, b) => pngOrder.get(a.path)! - pngOrder.get(b.path)!)
  return { written, errors, failed, notTried: items.length - next, stoppedBy, warnings }
}

/** The errno code of an error or of its cause (writeFileAtomic wraps it in a UserError). */
function errorCode(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e)
    if (typeof e.code === 'string') return e.code
  return undefined
}
