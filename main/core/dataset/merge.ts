// Merges the header index with the two label CSVs into one Dataset (pure: no file access).
import type {
  Dataset,
  DatasetImage,
  DatasetStudy,
  ImageLabel,
  LabelError,
  Split,
  StudyLabel
} from '../../../common/dataset'
import type { DatasetIndex, FileError, ImageRecord } from '../../../common/domain'

/** `train|test/<study>/<series>/<image>.dcm`, the Kaggle layout. */
const KAGGLE_PATH = /^(train|test)\/([^/]+)\/([^/]+)\/([^/]+)\.dcm$/i

export interface LabelTables {
  /** Parsed train_study_level.csv, or null when the file is absent. */
  study: { file: string; labels: StudyLabel[]; errors: LabelError[] } | null
  /** Parsed train_image_level.csv, or null when the file is absent. */
  image: { file: string; labels: ImageLabel[]; errors: LabelError[] } | null
}

/** The ids a Kaggle-layout path carries, or null for any other path (its ids are in the file's header). */
export function kagglePathIds(
  path: string
): { split: Split; studyId: string; seriesId: string; imageId: string } | null {
  const match = KAGGLE_PATH.exec(path)
  if (!match) return null
  return { split: match[1].toLowerCase() as Split, studyId: match[2], seriesId: match[3], imageId: match[4] }
}

/** A file's split: `test` under the top-level `test/` folder, `train` everywhere else. */
export function splitOf(path: string): Split {
  return /^test\//i.test(path) ? 'test' : 'train'
}

/**
 * Links CSV rows to files by imageId and groups everything by studyId.
 * - Every indexed file is an image; its studyId/seriesId come from the index (the folder layout).
 * - An image row links to the file with its imageId (a train file first). A row with no readable
 *   file is still an image, with `record: null` and its study from `StudyInstanceUID`; when its
 *   file exists but is broken, `fileError` says why (and its split and series come from the path).
 * - Studies are the union of the study rows and the images' studies; a study's split is `test`
 *   only when all its images are test files.
 */
export function mergeDataset(index: DatasetIndex, tables: LabelTables): Dataset {
  const imageRows = new Map((tables.image?.labels ?? []).map((row) => [row.imageId, row]))
  const images: DatasetImage[] = []

  const records = [...index.images].sort(
    (a, b) => compareSplit(splitOf(a.path), splitOf(b.path)) || a.path.localeCompare(b.path)
  )
  const linked = new Set<string>()
  for (const record of records) {
    const split = splitOf(record.path)
    const row = imageRows.get(record.imageId)
    const label = row && !linked.has(record.imageId) && split === 'train' ? row : null
    if (label) linked.add(record.imageId)
    images.push(fileImage(record, split, label))
  }
  // A row whose file sits only under test/ is linked there rather than reported as missing.
  for (const image of images) {
    const row = imageRows.get(image.imageId)
    if (row && !linked.has(image.imageId) && image.split === 'test') {
      image.label = row
      linked.add(image.imageId)
    }
  }
  // A row whose file exists but cannot be read keeps that file's error: it is not a missing file.
  const brokenById = new Map<string, { error: FileError; split: Split; seriesId: string }>()
  for (const error of index.errors) {
    const ids = kagglePathIds(error.path)
    if (ids && !brokenById.has(ids.imageId))
      brokenById.set(ids.imageId, { error, split: ids.split, seriesId: ids.seriesId })
  }
  for (const row of imageRows.values()) {
    if (linked.has(row.imageId)) continue
    const broken = brokenById.get(row.imageId)
    images.push({
      imageId: row.imageId,
      studyId: row.studyId,
      seriesId: broken?.seriesId ?? '',
      split: broken?.split ?? 'train',
      record: null,
      label: row,
      ...(broken ? { fileError: broken.error } : {})
    })
  }
  images.sort(compareImages)

  const studies = new Map<string, DatasetStudy>()
  const studyOf = (studyId: string, split: Split) => {
    let study = studies.get(studyId)
    if (!study) studies.set(studyId, (study = { studyId, split, label: null, imageIds: [] }))
    return study
  }
  for (const image of images) {
    const study = studyOf(image.studyId, image.split)
    if (image.split === 'train') study.split = 'train'
    study.imageIds.push(image.imageId)
  }
  for (const label of tables.study?.labels ?? []) studyOf(label.studyId, 'train').label = label

  const hasKagglePaths =
    index.images.some((r) => KAGGLE_PATH.test(r.path)) || index.errors.some((e) => KAGGLE_PATH.test(e.path))
  return {
    root: index.root,
    kaggleLayout: hasKagglePaths || tables.study !== null || tables.image !== null,
    labelFiles: { study: tables.study?.file ?? null, image: tables.image?.file ?? null },
    images,
    studies: [...studies.values()].sort(
      (a, b) => compareSplit(a.split, b.split) || compareIds(a.studyId, b.studyId)
    ),
    fileErrors: [...index.errors],
    labelErrors: [...(tables.study?.errors ?? []), ...(tables.image?.errors ?? [])]
  }
}

function fileImage(record: ImageRecord, split: Split, label: ImageLabel | null): DatasetImage {
  return { imageId: record.imageId, studyId: record.studyId, seriesId: record.seriesId, split, record, label }
}

function compareSplit(a: Split, b: Split): number {
  return a === b ? 0 : a === 'train' ? -1 : 1
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function compareImages(a: DatasetImage, b: DatasetImage): number {
  return (
    compareSplit(a.split, b.split) ||
    compareIds(a.studyId, b.studyId) ||
    compareIds(a.imageId, b.imageId) ||
    compareIds(a.record?.path ?? '', b.record?.path ?? '')
  )
}
