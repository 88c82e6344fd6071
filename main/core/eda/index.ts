// Exploratory data analysis of a dataset: label counts from the CSVs, and the mix of DICOM headers.
import type { Dataset, StudyLabel } from '../../../common/dataset'
import { STUDY_CLASSES, type StudyClass } from '../../../common/domain'
import { transferSyntaxName } from '../dicom/transfer-syntax'

export interface Summary {
  min: number
  median: number
  max: number
  mean: number
}

/** `<bin start>-<bin end>` (inclusive, px) -> count; bins are SIZE_BIN_PX wide. */
export type SizeHistogram = Record<string, number>
export const SIZE_BIN_PX = 512

export interface Eda {
  /** Rows of train_study_level.csv as loaded (malformed rows skipped): one per study; `notOneHot` rows count in total only. */
  studies: {
    total: number
    negative: number
    typical: number
    indeterminate: number
    atypical: number
    notOneHot: number
  }
  /** Rows of train_image_level.csv as loaded: one per image, with or without a file. */
  images: { total: number; withBoxes: number; withoutBoxes: number }
  /** Boxes of the `boxes` column; sizes in original pixels, `areaFraction` = box area / image area (images with a file). */
  boxes: {
    total: number
    width: Summary | null
    height: Summary | null
    area: Summary | null
    areaFraction: Summary | null
  }
  /**
   * Image rows by the class of their study row (the row's StudyInstanceUID), then by box count:
   * `{ typical: { "0": 12, "1": 30, ... } }`. `unknown` holds rows whose study has no one-hot study row.
   */
  boxesPerImage: Partial<Record<StudyClass | 'unknown', Record<string, number>>>
  /** Study rows by how many image rows name them: `{ "1": 5822, "2": 200, ... }` (sums to studies.total). */
  imagesPerStudy: Record<string, number>
  /**
   * images: image rows without boxes whose study row is typical/indeterminate/atypical;
   * studies: such study rows with at least one image row and no box in any of them.
   */
  positivesWithoutBoxes: { images: number; studies: number }
  /** DICOM files indexed (readable headers), by split, plus files that could not be read. */
  files: { total: number; train: number; test: number; unreadable: number }
  /** From the DICOM headers of the readable files. */
  imageSize: {
    rows: Summary | null
    columns: Summary | null
    rowsHistogram: SizeHistogram
    columnsHistogram: SizeHistogram
  }
  bitsStored: Record<string, number>
  photometric: Record<string, number>
  transferSyntax: Array<{ uid: string; name: string; count: number }>
}

/** Counts on the CSVs as given (before any filter policy) and on every readable file's header. */
export function computeEda(dataset: Dataset): Eda {
  const studyRows = dataset.studies.map((s) => s.label).filter((l): l is StudyLabel => l !== null)
  const imageRows = dataset.images.flatMap((image) =>
    image.label ? [{ label: image.label, record: image.record }] : []
  )
  const studyClass = new Map(studyRows.map((row) => [row.studyId, row.label]))

  const studies = {
    total: studyRows.length,
    negative: 0,
    typical: 0,
    indeterminate: 0,
    atypical: 0,
    notOneHot: 0
  }
  for (const row of studyRows) {
    if (row.label) studies[row.label]++
    else studies.notOneHot++
  }

  const withBoxes = imageRows.filter(({ label }) => label.boxes.length > 0).length
  const images = { total: imageRows.length, withBoxes, withoutBoxes: imageRows.length - withBoxes }

  const boxesPerImage: Eda['boxesPerImage'] = Object.fromEntries(STUDY_CLASSES.map((c) => [c, {}]))
  const rowsPerStudy = new Map<string, number>()
  const boxedStudies = new Set<string>()
  let positiveImagesWithoutBoxes = 0
  const widths: number[] = []
  const heights: number[] = []
  const areas: number[] = []
  const areaFractions: number[] = []
  for (const { label, record } of imageRows) {
    const cls = studyClass.get(label.studyId) ?? 'unknown'
    increment((boxesPerImage[cls] ??= {}), String(label.boxes.length))
    rowsPerStudy.set(label.studyId, (rowsPerStudy.get(label.studyId) ?? 0) + 1)
    if (label.boxes.length > 0) boxedStudies.add(label.studyId)
    else if (cls !== 'unknown' && cls !== 'negative') positiveImagesWithoutBoxes++
    for (const box of label.boxes) {
      widths.push(box.width)
      heights.push(box.height)
      areas.push(box.width * box.height)
      if (record) areaFractions.push((box.width * box.height) / (record.rows * record.columns))
    }
  }

  const imagesPerStudy: Record<string, number> = {}
  let positiveStudiesWithoutBoxes = 0
  for (const row of studyRows) {
    const count = rowsPerStudy.get(row.studyId) ?? 0
    increment(imagesPerStudy, String(count))
    if (row.label && row.label !== 'negative' && count > 0 && !boxedStudies.has(row.studyId))
      positiveStudiesWithoutBoxes++
  }

  const records = dataset.images.flatMap((image) =>
    image.record ? [{ record: image.record, split: image.split }] : []
  )
  const bitsStored: Record<string, number> = {}
  const photometric: Record<string, number> = {}
  const syntaxCounts: Record<string, number> = {}
  for (const { record } of records) {
    increment(bitsStored, String(record.bitsStored))
    increment(photometric, record.photometric)
    increment(syntaxCounts, record.transferSyntaxUid)
  }
  const rows = records.map(({ record }) => record.rows)
  const columns = records.map(({ record }) => record.columns)

  return {
    studies,
    images,
    boxes: {
      total: widths.length,
      width: summarize(widths),
      height: summarize(heights),
      area: summarize(areas),
      areaFraction: summarize(areaFractions)
    },
    boxesPerImage, // integer-like keys (box counts) list in ascending order in JS and JSON
    imagesPerStudy,
    positivesWithoutBoxes: { images: positiveImagesWithoutBoxes, studies: positiveStudiesWithoutBoxes },
    files: {
      total: records.length,
      train: records.filter((r) => r.split === 'train').length,
      test: records.filter((r) => r.split === 'test').length,
      unreadable: dataset.fileErrors.length
    },
    imageSize: {
      rows: summarize(rows),
      columns: summarize(columns),
      rowsHistogram: sizeHistogram(rows),
      columnsHistogram: sizeHistogram(columns)
    },
    bitsStored,
    photometric,
    transferSyntax: Object.entries(syntaxCounts)
      .map(([uid, count]) => ({ uid, name: transferSyntaxName(uid), count }))
      .sort((a, b) => b.count - a.count || a.uid.localeCompare(b.uid))
  }
}

/** min/median/max/mean; the median of an even count is the mean of the two middle values. */
export function summarize(values: readonly number[]): Summary | null {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
  const mean = sorted.reduce((sum, v) => sum + v, 0) / sorted.length
  return { min: sorted[0], median, max: sorted[sorted.length - 1], mean }
}

function sizeHistogram(values: readonly number[]): SizeHistogram {
  const bins = new Map<number, number>()
  for (const value of values) {
    const start = Math.floor(value / SIZE_BIN_PX) * SIZE_BIN_PX
    bins.set(start, (bins.get(start) ?? 0) + 1)
  }
  return Object.fromEntries(
    [...bins]
      .sort((a, b) => a[0] - b[0])
      .map(([start, count]) => [`${start}-${start + SIZE_BIN_PX - 1}`, count])
  )
}

function increment(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1
}
