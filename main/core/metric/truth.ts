// Ground truth for the metric, built from the two Kaggle label tables.
import type { ImageLabel, StudyLabel } from '../../../common/dataset'
import type { ScoredClass } from '../../../common/domain'
import { formatLabelError, IMAGE_CSV_FILE, parseImageCsv, parseStudyCsv, STUDY_CSV_FILE } from '../labels'
import type { CornerBox } from './voc-ap'

export interface TruthObject extends CornerBox {
  cls: ScoredClass
}

/**
 * Ground-truth objects keyed by submission row id: `<study>_study` holds one whole-image box of the
 * study's class; `<image>_image` holds its opacity boxes, or one whole-image `none` box.
 */
export type GroundTruth = Map<string, TruthObject[]>

export interface TruthResult {
  truth: GroundTruth
  /** Rows that could not be used as they are, e.g. a study that is not one-hot. */
  warnings: string[]
}

const WHOLE_IMAGE = { x1: 0, y1: 0, x2: 1, y2: 1 }

export function studyRowId(studyId: string): string {
  return `${studyId}_study`
}

export function imageRowId(imageId: string): string {
  return `${imageId}_image`
}

export function truthFromLabels(studies: readonly StudyLabel[], images: readonly ImageLabel[]): TruthResult {
  const truth: GroundTruth = new Map()
  const warnings: string[] = []
  for (const study of studies) {
    const id = studyRowId(study.studyId)
    if (study.label === null) {
      warnings.push(`study line ${study.line}: ${study.studyId} is not one-hot; left out of scoring`)
      continue
    }
    if (truth.has(id))
      warnings.push(`study line ${study.line}: ${study.studyId} appears again; using the last row`)
    truth.set(id, [{ cls: study.label, ...WHOLE_IMAGE }])
  }
  for (const image of images) {
    const id = imageRowId(image.imageId)
    if (truth.has(id))
      warnings.push(`image line ${image.line}: ${image.imageId} appears again; using the last row`)
    truth.set(id, imageTruth(image))
  }
  return { truth, warnings }
}

/** Truth from the texts of the two label CSVs; unreadable rows are left out and listed in `warnings`. */
export function truthFromCsv(
  studyCsvText: string,
  imageCsvText: string,
  files = { study: STUDY_CSV_FILE, image: IMAGE_CSV_FILE }
): TruthResult {
  const studies = parseStudyCsv(studyCsvText, files.study)
  const images = parseImageCsv(imageCsvText, files.image)
  const result = truthFromLabels(studies.labels, images.labels)
  const parserWarnings = [...studies.errors, ...images.errors].map(formatLabelError)
  return { truth: result.truth, warnings: [...parserWarnings, ...result.warnings] }
}

/**
 * Opacity boxes from the `boxes` column, or one whole-image `none` when it is empty. The labels parser
 * already checks the `label` column against it and reports any disagreement (the app uses boxes).
 */
function imageTruth(image: ImageLabel): TruthObject[] {
  if (image.boxes.length === 0) return [{ cls: 'none', ...WHOLE_IMAGE }]
  return image.boxes.map((b) => ({ cls: 'opacity', x1: b.x, y1: b.y, x2: b.x + b.width, y2: b.y + b.height }))
}
