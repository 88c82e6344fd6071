// What an export writes, before any file is touched: the kept images, their split, output size and
// boxes in the output frame. COCO and YOLO both render this plan.
import type { Dataset, DatasetImage, FilterPolicy } from '../../../common/dataset'
import { STUDY_CLASSES, type FileError, type StudyClass } from '../../../common/domain'
import { applyPolicy } from '../dataset/policy'
import { UserError } from '../errors'
import { splitByStudy } from './split'

export type CategoryMode = 'opacity' | 'study'
/** `test`: the test/ split's images, without labels (for prediction by the trainer the export feeds). */
export type ExportSubset = 'train' | 'val' | 'test'
export type ImageFormat = 'png8' | 'png16'

export interface ImageExportOptions {
  /** png8: display pixels after VOI (and MONOCHROME1 inversion); png16: the same on 0..65535. */
  format: ImageFormat
  /** Longest side in pixels, aspect ratio kept (no padding); omitted: the original size. */
  size?: number
}

export interface PlanOptions {
  valFraction?: number
  seed?: number
  policy?: FilterPolicy
  categories?: CategoryMode
  images?: ImageExportOptions
  /** Also export the test/ split's readable images (no labels). */
  test?: boolean
}

/** A box in the output frame (top-left corner + size, as COCO has it), with its 0-based category index. */
export interface PlannedBox {
  category: number
  x: number
  y: number
  width: number
  height: number
}

export interface PlannedImage {
  image: DatasetImage
  /** The DICOM path relative to the dataset root. */
  path: string
  subset: ExportSubset
  studyClass: StudyClass | null
  originalWidth: number
  originalHeight: number
  /** Size of the frame the labels describe: the exported PNG, or the original DICOM. */
  width: number
  height: number
  boxes: PlannedBox[]
}

export interface ExportPlan {
  categories: string[]
  items: PlannedImage[]
  errors: FileError[]
  /** Boxes that reached outside the image and were cut at its border. */
  clippedBoxes: number
  /** How the label frame relates to the DICOM, for the JSON `info` and dataset.yaml. */
  frame: string
  options: Required<Omit<PlanOptions, 'images'>> & { images: ImageExportOptions | null }
}

export const EXPORT_DEFAULTS = {
  valFraction: 0.2,
  seed: 42,
  policy: 'keep-boxed',
  categories: 'opacity'
} as const

/** Longest side = size, aspect ratio kept, each side rounded and at least 1 px. */
export function exportSize(
  width: number,
  height: number,
  size: number | undefined
): { width: number; height: number } {
  if (size === undefined) return { width, height }
  const scale = size / Math.max(width, height)
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) }
}

export function planExport(dataset: Dataset, options: PlanOptions): ExportPlan {
  const opts = {
    valFraction: options.valFraction ?? EXPORT_DEFAULTS.valFraction,
    seed: options.seed ?? EXPORT_DEFAULTS.seed,
    policy: options.policy ?? EXPORT_DEFAULTS.policy,
    categories: options.categories ?? EXPORT_DEFAULTS.categories,
    images: options.images ?? null,
    test: options.test ?? false
  }
  const size = opts.images?.size
  if (size !== undefined && !(Number.isInteger(size) && size >= 16 && size <= 16384)) {
    throw new UserError(`image size must be a whole number of pixels from 16 to 16384, got ${size}`)
  }
  const categories: string[] = opts.categories === 'study' ? [...STUDY_CLASSES] : ['opacity']
  const studyById = new Map(dataset.studies.map((s) => [s.studyId, s]))
  const errors: FileError[] = []

  // Said once, so an export is never silently smaller than the CSVs: rows the parser skipped or
  // doubted, and labelled train images whose file is missing or unreadable.
  for (const error of dataset.labelErrors)
    errors.push({ path: `${error.file}:${error.line}`, reason: error.reason })
  for (const image of dataset.images) {
    if (image.split !== 'train' || !image.label || image.record) continue
    errors.push(
      image.fileError
        ? { path: image.fileError.path, reason: `${image.fileError.reason}; its labels are left out` }
        : {
            path: `${dataset.labelFiles.image ?? 'train_image_level.csv'}:${image.label.line}`,
            reason: `no file for image ${image.imageId}; left out`
          }
    )
  }

  // The policies keep only train images with a readable file and a label row (record and label set).
  const usable = applyPolicy(dataset, opts.policy).filter((image) => {
    if (opts.categories !== 'study' || studyById.get(image.studyId)?.label?.label) return true
    errors.push({
      path: image.record!.path,
      reason: `study ${image.studyId} has no one-hot study label; left out of the study-category export`
    })
    return false
  })
  const split = splitByStudy(usable, dataset.studies, { valFraction: opts.valFraction, seed: opts.seed })

  let clippedBoxes = 0
  const items: PlannedImage[] = usable.map((image) => {
    const record = image.record!
    const studyClass = studyById.get(image.studyId)?.label?.label ?? null
    const out = exportSize(record.columns, record.rows, size)
    const sx = out.width / record.columns
    const sy = out.height / record.rows
    const category = opts.categories === 'study' ? STUDY_CLASSES.indexOf(studyClass!) : 0
    const boxes: PlannedBox[] = []
    for (const box of image.label?.boxes ?? []) {
      const across = clipSpan(box.x, box.width, record.columns)
      const down = clipSpan(box.y, box.height, record.rows)
      if (across.clipped || down.clipped) clippedBoxes++
      if (across.size <= 0 || down.size <= 0) {
        errors.push({
          path: record.path,
          reason: `box at ${box.x},${box.y} (${box.width}x${box.height}) lies outside the ${record.columns}x${record.rows} image; dropped`
        })
        continue
      }
      boxes.push({
        category,
        x: inFrame(across.start, sx),
        y: inFrame(down.start, sy),
        width: inFrame(across.size, sx),
        height: inFrame(down.size, sy)
      })
    }
    return {
      image,
      path: record.path,
      subset: split.valStudyIds.has(image.studyId) ? 'val' : 'train',
      studyClass,
      originalWidth: record.columns,
      originalHeight: record.rows,
      width: out.width,
      height: out.height,
      boxes
    }
  })

  if (opts.test) items.push(...testItems(dataset, size))

  const frame =
    size === undefined
      ? 'boxes are in pixels of the original DICOM (Columns x Rows from its header)'
      : `images are resized so that the longest side is ${size} px, aspect ratio kept, no padding; ` +
        'boxes are scaled by width/original_width and height/original_height'
  return { categories, items, errors, clippedBoxes, frame, options: opts }
}

/** The test split's readable images as export items: no boxes (their truth is not the trainer's to see). */
function testItems(dataset: Dataset, size: number | undefined): PlannedImage[] {
  return dataset.images
    .filter((image) => image.split === 'test' && image.record)
    .map((image) => {
      const record = image.record!
      const out = exportSize(record.columns, record.rows, size)
      return {
        image,
        path: record.path,
        subset: 'test' as const,
        studyClass: null,
        originalWidth: record.columns,
        originalHeight: record.rows,
        width: out.width,
        height: out.height,
        boxes: []
      }
    })
}

/**
 * One side of a box cut to [0, limit]. An uncut box keeps the CSV's own numbers: recomputing the
 * size as (x + width) - x would add float noise to labels that exports must carry unchanged.
 */
function clipSpan(
  start: number,
  size: number,
  limit: number
): { start: number; size: number; clipped: boolean } {
  const from = Math.min(limit, Math.max(0, start))
  const to = Math.min(limit, Math.max(0, start + size))
  if (from === start && to === start + size) return { start, size, clipped: false }
  return { start: from, size: to - from, clipped: true }
}

/** A coordinate in the output frame: the original pixels as they are, else scaled and rounded to 1e-6 px (drops the float noise of the scaling). */
function inFrame(value: number, scale: number): number {
  return scale === 1 ? value : Math.round(value * scale * 1e6) / 1e6
}
