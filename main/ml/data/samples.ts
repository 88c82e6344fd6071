// What training and prediction need to know about each image: where its file is, its size, its boxes
// and its study's class, and how it maps into the square model input.
import { join } from 'node:path'
import type { Dataset, DatasetImage, FilterPolicy } from '../../../common/dataset'
import { STUDY_CLASSES, type OpacityBox, type StudyClass } from '../../../common/domain'
import { letterboxGeometry, type LetterboxGeometry } from '../../../common/pixels'
import { UserError } from '../../core/errors'
import { applyPolicy } from '../../core/dataset'
import type { Box } from '../detect/boxes'

export interface ImageSample {
  imageId: string
  studyId: string
  /** Path relative to the dataset root (forward slashes), for messages. */
  relPath: string
  absPath: string
  /** Original DICOM size in pixels. */
  width: number
  height: number
  /** File facts that key the tensor cache. */
  fileSize: number
  mtimeMs: number
  /** Opacity boxes in original pixels, clipped to the image (empty: none). */
  boxes: OpacityBox[]
  /** The study's class, or null when unlabelled / not one-hot. */
  studyClass: StudyClass | null
}

export function studyClassIndex(cls: StudyClass | null): number {
  return cls === null ? -1 : STUDY_CLASSES.indexOf(cls)
}

function clipBox(box: OpacityBox, width: number, height: number): OpacityBox | null {
  const x1 = Math.max(0, box.x)
  const y1 = Math.max(0, box.y)
  const x2 = Math.min(width, box.x + box.width)
  const y2 = Math.min(height, box.y + box.height)
  return x2 - x1 >= 1 && y2 - y1 >= 1 ? { x: x1, y: y1, width: x2 - x1, height: y2 - y1 } : null
}

/** Samples for images that have a readable file; labels are used when present. */
export function samplesOf(dataset: Dataset, images: readonly DatasetImage[]): ImageSample[] {
  const studyClass = new Map(dataset.studies.map((s) => [s.studyId, s.label?.label ?? null]))
  const out: ImageSample[] = []
  for (const image of images) {
    const record = image.record
    if (!record) continue
    const boxes = (image.label?.boxes ?? [])
      .map((b) => clipBox(b, record.columns, record.rows))
      .filter((b): b is OpacityBox => b !== null)
    out.push({
      imageId: image.imageId,
      studyId: image.studyId,
      relPath: record.path,
      absPath: join(dataset.root, record.path),
      width: record.columns,
      height: record.rows,
      fileSize: record.size,
      mtimeMs: record.mtimeMs,
      boxes,
      studyClass: studyClass.get(image.studyId) ?? null
    })
  }
  return out
}

/**
 * The labelled train images kept by the filter policy, as samples. A dataset without a single box
 * cannot teach a detector and is refused with the reason.
 */
export function trainingImages(dataset: Dataset, policy: FilterPolicy): DatasetImage[] {
  if (!dataset.labelFiles.image) {
    throw new UserError(`${dataset.root}: no train_image_level.csv, so there are no labels to train on`)
  }
  const kept = applyPolicy(dataset, policy)
  if (kept.length === 0) {
    throw new UserError(
      `${dataset.root}: no labelled train image has a readable DICOM file (${dataset.fileErrors.length} file error(s))`
    )
  }
  const boxes = kept.reduce((n, image) => n + (image.label?.boxes.length ?? 0), 0)
  if (boxes === 0) {
    throw new UserError(
      `${dataset.root}: the ${kept.length} labelled train image(s) hold no opacity boxes; a detector needs at least one box to learn from`
    )
  }
  return kept
}

export function geometryOf(
  sample: Pick<ImageSample, 'width' | 'height'>,
  imageSize: number
): LetterboxGeometry {
  return letterboxGeometry(sample.width, sample.height, imageSize, imageSize)
}

/** The sample's boxes in model-input pixels (corner form). */
export function modelBoxes(sample: ImageSample, imageSize: number): Box[] {
  const g = geometryOf(sample, imageSize)
  return sample.boxes.map((b) => {
    const x1 = b.x * g.scaleX + g.offsetX
    const y1 = b.y * g.scaleY + g.offsetY
    return [x1, y1, x1 + b.width * g.scaleX, y1 + b.height * g.scaleY]
  })
}

/** A model-input box back in original DICOM pixels, clipped to the image. */
export function originalBox(box: Box, sample: Pick<ImageSample, 'width' | 'height'>, imageSize: number): Box {
  const g = geometryOf(sample, imageSize)
  const x = (v: number) => Math.min(sample.width, Math.max(0, (v - g.offsetX) / g.scaleX))
  const y = (v: number) => Math.min(sample.height, Math.max(0, (v - g.offsetY) / g.scaleY))
  return [x(box[0]), y(box[1]), x(box[2]), y(box[3])]
}
