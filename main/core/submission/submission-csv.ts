// Reading a submission CSV (`id,PredictionString`) into rows, keeping line numbers for every problem.
import { parse } from 'csv-parse/sync'
import { UserError } from '../errors'
import { parsePredictionString, rowKindOf, type Detection, type RowKind } from './prediction-string'

export const SUBMISSION_HEADER = 'id,PredictionString'

/** One row of a submission: predictions for a study (`<study>_study`) or an image (`<image>_image`). */
export interface SubmissionRow {
  id: string
  detections: Detection[]
  /** 1-based line in the CSV (the header is line 1), when the row came from a file. */
  line?: number
}

/** A problem in a submission; `line` is null for problems of the whole file (e.g. a missing id). */
export interface SubmissionIssue {
  line: number | null
  severity: 'error' | 'warning'
  id?: string
  message: string
}

export interface CsvRecord {
  line: number
  fields: string[]
}

/** Parses CSV text into records with their line numbers; a broken quote is a UserError naming the line. */
export function readCsvRecords(text: string, file = 'CSV'): CsvRecord[] {
  try {
    const parsed = parse(text, {
      bom: true,
      info: true,
      relax_column_count: true,
      skip_empty_lines: true
    }) as unknown as Array<{
      record: string[]
      info: { lines: number }
    }>
    return parsed.map(({ record, info }) => ({ line: info.lines, fields: record }))
  } catch (err) {
    const line = (err as { lines?: number }).lines
    throw new UserError(`${file}${line ? `:${line}` : ''}: not a readable CSV (${(err as Error).message})`)
  }
}

/** The first line exactly as written (without a byte-order mark or line ending). */
export function headerLine(text: string): string {
  return text.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0]
}

/**
 * Null when the first record is `id,PredictionString`, else the error to report. Compares the parsed
 * fields, so a quoted header (`"id","PredictionString"`, as R and pandas QUOTE_ALL write) is the same
 * header; the names themselves stay exact.
 */
export function headerError(records: readonly CsvRecord[], text: string): string | null {
  const fields = records[0]?.fields ?? []
  const expected = SUBMISSION_HEADER.split(',')
  if (fields.length === expected.length && fields.every((field, i) => field === expected[i])) return null
  return `header must be exactly '${SUBMISSION_HEADER}', found '${headerLine(text)}'`
}

export interface ParsedSubmission {
  rows: SubmissionRow[]
  issues: SubmissionIssue[]
}

/**
 * Reads every row it can: a row with a grammar error keeps its id with no detections (it scores as
 * an empty prediction) and is reported. `kindOf` decides study vs image rows (default: the id suffix).
 */
export function parseSubmissionCsv(
  text: string,
  kindOf: (id: string) => RowKind | null = rowKindOf,
  file = 'submission'
): ParsedSubmission {
  const issues: SubmissionIssue[] = []
  const records = readCsvRecords(text, file)
  const header = headerError(records, text)
  if (header) issues.push({ line: 1, severity: 'error', message: header })
  const rows: SubmissionRow[] = []
  for (const { line, fields } of records.slice(1)) {
    const id = fields[0]
    if (fields.length !== 2) {
      issues.push({
        line,
        severity: 'error',
        id,
        message: `expected 2 columns (id,PredictionString), found ${fields.length}`
      })
      if (fields.length < 2) continue
    }
    const kind = kindOf(id)
    if (kind === null) {
      issues.push({
        line,
        severity: 'error',
        id,
        message: `id '${id}' is neither a study row (<study>_study) nor an image row (<image>_image)`
      })
      continue
    }
    const parsed = parsePredictionString(fields[1], kind)
    for (const problem of parsed.errors)
      issues.push({ line, severity: 'error', id, message: `token ${problem.token}: ${problem.message}` })
    for (const problem of parsed.warnings)
      issues.push({ line, severity: 'warning', id, message: `token ${problem.token}: ${problem.message}` })
    if (fields[1].trim() === '')
      issues.push({
        line,
        severity: 'warning',
        id,
        message: 'empty PredictionString: scored as no prediction'
      })
    rows.push({ id, detections: parsed.detections, line })
  }
  return { rows, issues }
}
