// A Kaggle submission from COCO results (`[{image_id, category_id, bbox, score}]` plus the COCO file
// they refer to) or from a COCO ground-truth file, read by the COCO importer. Image rows carry the
// boxes with their scores and `none` = 1 - the best box score; study rows follow the seed's
// box-majority rule (as `predict --study-from box-majority`). Validated before it is written.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Dataset } from '../../../common/dataset'
import { STUDY_CLASSES, type StudyClass } from '../../../common/domain'
import { errorMessage, FileReadError, UserError } from '../errors'
import {
  importCoco,
  importedToSubmissionRows,
  type CocoImport,
  type ImportedImage
} from '../export/coco-import'
import { writeFileAtomic } from '../fs-atomic'
import { assertOutputAllowed, datasetSource, inputSource } from '../write-target'
import { rowKindOf } from './prediction-string'
import { boxMajority } from './study-rule'
import { SUBMISSION_HEADER, type SubmissionRow } from './submission-csv'
import { formatSubmission, hasErrors, readSample, validateSubmission, type ImageSize } from './validate'

/**
 * Which ids the submission holds: `sample`, every id of the dataset's sample_submission.csv (the
 * Kaggle file); `coco`, the studies and images of the COCO file (e.g. a validation split exported by
 * `coco`, scored with `score --study-csv/--image-csv` or `--truth train`).
 */
export type SubmissionIds = 'sample' | 'coco'

export interface CocoSubmissionOptions {
  /** A COCO results list, or a COCO ground-truth file (its boxes get confidence 1). */
  cocoPath: string
  /** For a results list: the COCO file its image and category ids refer to. */
  imagesJson?: string
  /** The DICOM folder the images belong to: studies, original sizes, sample_submission.csv. */
  dataset: Dataset
  ids: SubmissionIds
  outPath: string
}

export interface CocoSubmissionOutcome {
  path: string
  kind: CocoImport['kind']
  /** Rows written: study rows and image rows. */
  studies: number
  images: number
  /** Where the ids came from. */
  sample: string
  /** Ids of the sample without an image in the COCO file: neutral rows (study: training class frequencies; image: none 0.5). */
  filled: string[]
  /** Boxes cut at their image's border, and boxes dropped for lying wholly outside it. */
  clippedBoxes: number
  droppedBoxes: number
  /** Skipped entries of the COCO files, images left out and size mismatches, each naming its file. */
  warnings: string[]
}

export async function writeCocoSubmission(options: CocoSubmissionOptions): Promise<CocoSubmissionOutcome> {
  const { dataset } = options
  await assertOutputAllowed(options.outPath, [
    datasetSource(dataset.root),
    inputSource(options.cocoPath),
    ...(options.imagesJson ? [inputSource(options.imagesJson)] : [])
  ])
  const sizes = imageSizes(dataset)
  const imported = await importCoco(options.cocoPath, {
    imagesJson: options.imagesJson,
    originalSizes: new Map([...sizes].map(([id, s]) => [id, { width: s.columns, height: s.rows }]))
  })
  const cocoFile = options.imagesJson ?? options.cocoPath
  const warnings = [...imported.warnings]
  const studyOf = new Map(dataset.images.map((image) => [image.imageId, image.studyId]))

  const images: ImportedImage[] = []
  for (const image of imported.images) {
    const size = sizes.get(image.imageId)
    if (!size) {
      warnings.push(
        `${cocoFile}: image ${image.imageId} is not a readable DICOM of ${dataset.root}; left out`
      )
      continue
    }
    if (image.width !== size.columns || image.height !== size.rows)
      warnings.push(
        `${cocoFile}: image ${image.imageId} is ${image.width}x${image.height} there but ${size.columns}x${size.rows} in ${size.path}; boxes kept in the file's frame`
      )
    images.push(image)
  }
  const clipped = clipToImages(images, sizes)

  const sample = await sampleOf(options, images, studyOf, cocoFile)
  const sampleIds = new Set(sample.rows.map((row) => row.id))
  const priors = studyPriors(dataset)
  const rows = [
    ...studyRows(images, studyOf, priors),
    ...importedToSubmissionRows({ ...imported, images })
  ].filter((row) => sampleIds.has(row.id))
  const predicted = new Set(rows.map((row) => row.id))
  const filled = sample.rows.map((row) => row.id).filter((id) => !predicted.has(id))
  for (const id of filled) rows.push(neutralRow(id, priors))

  const text = formatSubmission(rows, sample.text)
  const issues = validateSubmission(
    text,
    sample.text,
    { submission: options.outPath, sample: sample.source },
    { imageSizes: sizes }
  )
  if (hasErrors(issues)) {
    const first = issues.find((i) => i.severity === 'error')!
    throw new Error(
      `the submission made from ${options.cocoPath} does not validate (line ${first.line}: ${first.message})`
    )
  }
  await writeFileAtomic(options.outPath, text)
  return {
    path: options.outPath,
    kind: imported.kind,
    studies: sample.rows.filter((row) => row.kind === 'study').length,
    images: sample.rows.filter((row) => row.kind === 'image').length,
    sample: sample.source,
    filled,
    clippedBoxes: clipped.clipped,
    droppedBoxes: clipped.dropped,
    warnings
  }
}

function imageSizes(dataset: Dataset): Map<string, ImageSize> {
  const sizes = new Map<string, ImageSize>()
  for (const image of dataset.images)
    if (image.record)
      sizes.set(image.imageId, {
        columns: image.record.columns,
        rows: image.record.rows,
        path: image.record.path
      })
  return sizes
}

/**
 * Cuts boxes at their image's border (a detector may reach a little past it; the metric's truth
 * never does) and drops boxes left without area. Mutates the imported boxes.
 */
function clipToImages(
  images: readonly ImportedImage[],
  sizes: ReadonlyMap<string, ImageSize>
): { clipped: number; dropped: number } {
  let clipped = 0
  let dropped = 0
  for (const image of images) {
    const { columns, rows } = sizes.get(image.imageId)!
    image.boxes = image.boxes.filter((box) => {
      const x1 = Math.max(0, box.x)
      const y1 = Math.max(0, box.y)
      const x2 = Math.min(columns, box.x + box.width)
      const y2 = Math.min(rows, box.y + box.height)
      if (x2 <= x1 || y2 <= y1) {
        dropped++
        return false
      }
      if (x1 !== box.x || y1 !== box.y || x2 !== box.x + box.width || y2 !== box.y + box.height) {
        clipped++
        Object.assign(box, { x: x1, y: y1, width: x2 - x1, height: y2 - y1 })
      }
      return true
    })
  }
  return { clipped, dropped }
}

interface Sample {
  text: string
  source: string
  rows: Array<{ id: string; kind: 'study' | 'image' }>
}

async function sampleOf(
  options: CocoSubmissionOptions,
  images: readonly ImportedImage[],
  studyOf: ReadonlyMap<string, string>,
  cocoFile: string
): Promise<Sample> {
  if (options.ids === 'coco') {
    // Kaggle's order: study rows, then image rows
    const studies = [...new Set(images.map((image) => studyOf.get(image.imageId)!))].sort()
    const imageIds = images.map((image) => image.imageId).sort()
    if (imageIds.length === 0) throw new UserError(`${cocoFile}: no image of ${options.dataset.root}`)
    const lines = [
      SUBMISSION_HEADER,
      ...studies.map((id) => `${id}_study,negative 1 0 0 1 1`),
      ...imageIds.map((id) => `${id}_image,none 1 0 0 1 1`)
    ]
    const text = lines.join('\n') + '\n'
    return { text, source: `the studies and images of ${cocoFile}`, rows: readSample(text) }
  }
  const path = join(options.dataset.root, 'sample_submission.csv')
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT')
      throw new UserError(
        `${path}: no such file; --ids coco writes the studies and images of the COCO file instead`
      )
    throw new FileReadError(path, errorMessage(err))
  })
  const rows = readSample(text, path)
  const sampleImages = new Set(rows.filter((row) => row.kind === 'image').map((row) => row.id))
  if (!images.some((image) => sampleImages.has(`${image.imageId}_image`)))
    throw new UserError(
      `none of the ${images.length} image(s) of ${cocoFile} are in ${path} ` +
        '(results on a `coco` export of the train split? --ids coco writes their own studies and images)'
    )
  return { text, source: path, rows }
}

/** Training frequency of each study class in the dataset's study labels (uniform without labels). */
function studyPriors(dataset: Dataset): Record<StudyClass, number> {
  const counts = Object.fromEntries(STUDY_CLASSES.map((c) => [c, 0])) as Record<StudyClass, number>
  let labelled = 0
  for (const study of dataset.studies) {
    if (study.split !== 'train' || !study.label?.label) continue
    counts[study.label.label]++
    labelled++
  }
  return Object.fromEntries(
    STUDY_CLASSES.map((c) => [c, labelled ? counts[c] / labelled : 1 / STUDY_CLASSES.length])
  ) as Record<StudyClass, number>
}

const POSITIVE: readonly string[] = STUDY_CLASSES.filter((c) => c !== 'negative')

/**
 * Study rows by the box-majority rule: p = the mean over the study's images of their best box
 * score; negative = 1 - p. The positive classes share p by their training frequency, or, when the
 * boxes are labelled with study classes (`coco --categories study`), each gets the mean of its own
 * best box scores.
 */
function studyRows(
  images: readonly ImportedImage[],
  studyOf: ReadonlyMap<string, string>,
  priors: Record<StudyClass, number>
): SubmissionRow[] {
  const byStudy = new Map<string, ImportedImage[]>()
  for (const image of images) {
    const studyId = studyOf.get(image.imageId)!
    byStudy.set(studyId, [...(byStudy.get(studyId) ?? []), image])
  }
  const studyCategories = images.some((image) => image.boxes.some((box) => POSITIVE.includes(box.category)))
  return [...byStudy].map(([studyId, group]) => {
    const best = (image: ImportedImage, accept: (category: string) => boolean) =>
      Math.max(0, ...image.boxes.filter((box) => accept(box.category)).map((box) => box.score ?? 1))
    const mean = (accept: (category: string) => boolean) =>
      clamp01(group.reduce((sum, image) => sum + best(image, accept), 0) / group.length)
    const shared = boxMajority(
      group.map((image) => best(image, (category) => category !== 'none' && category !== 'negative')),
      priors
    )
    const probability = (cls: StudyClass): number =>
      studyCategories && cls !== 'negative' ? mean((category) => category === cls) : shared[cls]
    return {
      id: `${studyId}_study`,
      detections: STUDY_CLASSES.map((cls) => ({
        cls,
        confidence: probability(cls),
        x1: 0,
        y1: 0,
        x2: 1,
        y2: 1
      }))
    }
  })
}

/** A sample id the COCO file has no image for: the class frequencies on a study row, `none 0.5` on an image row. */
function neutralRow(id: string, priors: Record<StudyClass, number>): SubmissionRow {
  const whole = { x1: 0, y1: 0, x2: 1, y2: 1 }
  return rowKindOf(id) === 'study'
    ? { id, detections: STUDY_CLASSES.map((cls) => ({ cls, confidence: priors[cls], ...whole })) }
    : { id, detections: [{ cls: 'none', confidence: 0.5, ...whole }] }
}

function clamp01(value: number): number {
  return Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : 0
}
