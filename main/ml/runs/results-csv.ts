// results.csv: one row per finished epoch, readable by a spreadsheet, pandas or Ultralytics-style plots.
import { SCORED_CLASSES } from '../../../common/domain'
import type { EpochRecord } from '../../../common/contract/training'

export type { EpochRecord, LossParts } from '../../../common/contract/training'

export function resultsHeader(lossKeys: readonly string[]): string[] {
  return [
    'epoch',
    ...lossKeys.map((k) => `train/${k}`),
    ...lossKeys.map((k) => `val/${k}`),
    ...SCORED_CLASSES.map((c) => `ap/${c}`),
    'studyMap',
    'imageMap',
    'final',
    'lr',
    'time',
    'elapsed'
  ]
}

function cell(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return ''
  return String(Number(value.toPrecision(6)))
}

export function resultsRow(record: EpochRecord, lossKeys: readonly string[]): string[] {
  return [
    String(record.epoch),
    ...lossKeys.map((k) => cell(record.train[k])),
    ...lossKeys.map((k) => cell(record.val?.[k])),
    ...SCORED_CLASSES.map((c) => cell(record.ap[c])),
    cell(record.studyMap),
    cell(record.imageMap),
    cell(record.final),
    cell(record.lr),
    cell(record.seconds),
    cell(record.elapsed)
  ]
}

export function formatResultsCsv(records: readonly EpochRecord[], lossKeys: readonly string[]): string {
  const lines = [resultsHeader(lossKeys), ...records.map((r) => resultsRow(r, lossKeys))]
  return lines.map((fields) => fields.join(',')).join('\n') + '\n'
}

/** The scalars of one epoch under the same names as the CSV columns (for TensorBoard). */
export function epochScalars(record: EpochRecord, lossKeys: readonly string[]): Record<string, number> {
  const header = resultsHeader(lossKeys)
  const row = resultsRow(record, lossKeys)
  const out: Record<string, number> = {}
  header.forEach((name, i) => {
    if (name !== 'epoch' && row[i] !== '') out[name] = Number(row[i])
  })
  return out
}

/** Parses results.csv back into column -> value maps (empty cells are null). */
export function parseResultsCsv(text: string): Array<Record<string, number | null>> {
  const [headerLine, ...lines] = text.trim().split(/\r?\n/)
  const header = headerLine.split(',')
  return lines.map((line) => {
    const fields = line.split(',')
    return Object.fromEntries(
      header.map((name, i) => [name, fields[i] === '' || fields[i] === undefined ? null : Number(fields[i])])
    )
  })
}
