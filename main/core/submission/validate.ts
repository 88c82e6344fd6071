// Checking a submission against the sample submission, and writing one in the sample's order.
import { UserError } from '../errors'
import { edgesBeyond } from '../labels/boxes'
import { writeFileAtomic } from '../fs-atomic'
import { formatPredictionString, IMAGE_CLASSES, rowKindOf, type RowKind } from './prediction-string'
import {
  headerError,
  parseSubmissionCsv,
  readCsvRecords,
  SUBMISSION_HEADER,
  type SubmissionIssue,
  type SubmissionRow
} from './submission-csv'
import { STUDY_CLASSES } from '../../../common/domain'

export interface SampleRow {
  id: string
  kind: RowKind
  /** The sample's own PredictionString (e.g. `negative 1 0 0 1 1`), used to fill rows on request. */
  predictionString: string
  line: number
}

/** The ids of sample_submission.csv in file order; a malformed sample is a UserError. */
export function readSample(sampleCsvText: string, file = 'sample submission'): SampleRow[] {
  const records = readCsvRecords(sampleCsvText, file)
  const header = headerError(records, sampleCsvText)
  if (header) throw new UserError(`${file}:1: ${header}`)
  return records.slice(1).map(({ line, fields }) => {
    const kind = rowKindOf(fields[0])
    if (kind === null)
      throw new UserError(`${file}:${line}: id '${fields[0]}' is neither <study>_study nor <image>_image`)
    return { id: fields[0], kind, predictionString: fields[1] ?? '', line }
  })
}

/** An image's size from its DICOM header (Columns x Rows), and the file it came from. */
export interface ImageSize {
  columns: number
  rows: number
  path: string
}

export interface ValidateOptions {
  /** imageId -> size: opacity boxes reaching outside their image are errors. */
  imageSizes?: ReadonlyMap<string, ImageSize>
}

/**
 * Every problem of a submission, in line order: the header, ids (each sample id exactly once: missing,
 * extra, duplicate), the PredictionString grammar per row kind, finite numbers, x1 < x2 and y1 < y2,
 * with `imageSizes` boxes outside their image (errors) and confidences outside [0, 1] or empty rows
 * (warnings).
 */
export function validateSubmission(
  csvText: string,
  sampleCsvText: string,
  files = { submission: 'submission', sample: 'sample submission' },
  options: ValidateOptions = {}
): SubmissionIssue[] {
  const sample = new Map(readSample(sampleCsvText, files.sample).map((row) => [row.id, row]))
  const { rows, issues } = parseSubmissionCsv(csvText, undefined, files.submission)
  if (options.imageSizes) issues.push(...boxesOutside(rows, options.imageSizes))
  const firstLine = new Map<string, number>()
  for (const row of rows) {
    const line = row.line ?? null
    if (!sample.has(row.id))
      issues.push({
        line,
        severity: 'error',
        id: row.id,
        message: `id '${row.id}' is not in the sample submission`
      })
    const seen = firstLine.get(row.id)
    if (seen !== undefined)
      issues.push({
        line,
        severity: 'error',
        id: row.id,
        message: `duplicate id '${row.id}' (first on line ${seen})`
      })
    else firstLine.set(row.id, row.line ?? 0)
  }
  for (const row of sample.values()) {
    if (!firstLine.has(row.id))
      issues.push({
        line: null,
        severity: 'error',
        id: row.id,
        message: `missing id '${row.id}' (sample line ${row.line})`
      })
  }
  return issues.sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity))
}

/** Opacity boxes of image rows that reach outside their image; a warning for image ids without a size. */
function boxesOutside(
  rows: readonly SubmissionRow[],
  sizes: ReadonlyMap<string, ImageSize>
): SubmissionIssue[] {
  const issues: SubmissionIssue[] = []
  for (const row of rows) {
    if (rowKindOf(row.id) !== 'image') continue
    const boxes = row.detections
      .map((d, i) => ({ d, token: 6 * i + 1 }))
      .filter(({ d }) => d.cls === 'opacity')
    if (boxes.length === 0) continue
    const imageId = row.id.slice(0, -'_image'.length)
    const size = sizes.get(imageId)
    const at = { line: row.line ?? null, id: row.id }
    if (!size) {
      issues.push({
        ...at,
        severity: 'warning',
        message: `no DICOM of image ${imageId} in the dataset: its boxes were not checked against its size`
      })
      continue
    }
    for (const { d, token } of boxes) {
      // the same half-pixel tolerance as the quality rule box-outside-image
      const beyond = edgesBeyond(d, size).map(
        ({ edge, by }) => `${Math.round(by * 100) / 100} px beyond the ${edge} edge`
      )
      if (beyond.length === 0) continue
      issues.push({
        ...at,
        severity: 'error',
        message:
          `token ${token}: opacity box ${d.x1} ${d.y1} ${d.x2} ${d.y2} of ${row.id} reaches ${beyond.join(', ')} ` +
          `of its ${size.columns}x${size.rows} image (Columns x Rows of ${size.path})`
      })
    }
  }
  return issues
}

export function hasErrors(issues: readonly SubmissionIssue[]): boolean {
  return issues.some((issue) => issue.severity === 'error')
}

export interface WriteSubmissionOptions {
  /** Write the sample's own PredictionString for ids without a row, instead of refusing. */
  fillMissing?: boolean
}

/** The submission CSV text with one row per sample id, in the sample's order. */
export function formatSubmission(
  rows: readonly SubmissionRow[],
  sampleCsvText: string,
  options: WriteSubmissionOptions = {}
): string {
  const byId = new Map<string, SubmissionRow>()
  for (const row of rows) {
    if (byId.has(row.id)) throw new UserError(`submission: id '${row.id}' is given twice`)
    byId.set(row.id, row)
  }
  const sample = readSample(sampleCsvText)
  const sampleIds = new Set(sample.map((row) => row.id))
  const extra = rows.filter((row) => !sampleIds.has(row.id))
  if (extra.length > 0)
    throw new UserError(
      `submission: ${extra.length} id(s) are not in the sample submission, e.g. '${extra[0].id}'`
    )
  const missing = sample.filter((row) => !byId.has(row.id))
  if (missing.length > 0 && !options.fillMissing) {
    throw new UserError(
      `submission: ${missing.length} sample id(s) have no prediction, e.g. '${missing[0].id}'`
    )
  }

  const lines = [SUBMISSION_HEADER]
  for (const sampleRow of sample) {
    const row = byId.get(sampleRow.id)
    lines.push(
      `${sampleRow.id},${row ? rowPredictionString(row, sampleRow.kind) : sampleRow.predictionString}`
    )
  }
  return lines.join('\n') + '\n'
}

/** Writes the submission atomically (temp file, fsync, rename). */
export async function writeSubmission(
  outPath: string,
  rows: readonly SubmissionRow[],
  sampleCsvText: string,
  options: WriteSubmissionOptions = {}
): Promise<void> {
  await writeFileAtomic(outPath, formatSubmission(rows, sampleCsvText, options))
}

function rowPredictionString(row: SubmissionRow, kind: RowKind): string {
  const allowed: readonly string[] = kind === 'study' ? STUDY_CLASSES : IMAGE_CLASSES
  for (const d of row.detections) {
    if (!allowed.includes(d.cls))
      throw new UserError(`submission: ${row.id} is a ${kind} row and cannot hold '${d.cls}'`)
    if (![d.confidence, d.x1, d.y1, d.x2, d.y2].every(Number.isFinite))
      throw new UserError(`submission: ${row.id} has a non-finite number in a '${d.cls}' prediction`)
  }
  return formatPredictionString(row.detections)
}
