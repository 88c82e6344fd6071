// train_study_level.csv: `id,Negative for Pneumonia,Typical Appearance,Indeterminate Appearance,Atypical Appearance`.
import { STUDY_CLASSES, STUDY_CSV_COLUMNS, type StudyClass } from '../../../common/domain'
import type { LabelError, StudyLabel } from '../../../common/dataset'
import { csvField, readCsvTable } from './csv-lines'

export const STUDY_CSV_FILE = 'train_study_level.csv'
export const STUDY_CSV_HEADER = ['id', ...STUDY_CSV_COLUMNS] as const
const STUDY_SUFFIX = '_study'

export interface StudyCsv {
  labels: StudyLabel[]
  errors: LabelError[]
}

/**
 * Parses train_study_level.csv. A row whose id or values are unreadable, or that repeats an id, is
 * skipped with an error; a row of valid 0/1 values that is not one-hot is kept with `label: null`
 * (the study exists, its class is unknown) and reported.
 */
export function parseStudyCsv(text: string, file = STUDY_CSV_FILE): StudyCsv {
  const { rows, problems } = readCsvTable(text, STUDY_CSV_HEADER, STUDY_SUFFIX)
  const errors: LabelError[] = problems.map((p) => ({ file, ...p }))
  const labels: StudyLabel[] = []
  const firstLine = new Map<string, number>()

  for (const { line, fields } of rows) {
    const fail = (reason: string) => errors.push({ file, line, reason })
    const id = fields[0].trim()
    const studyId = id.endsWith(STUDY_SUFFIX) ? id.slice(0, -STUDY_SUFFIX.length) : ''
    if (!studyId) {
      fail(`id: expected '<study>${STUDY_SUFFIX}', found '${id}'`)
      continue
    }
    const seen = firstLine.get(studyId)
    if (seen !== undefined) {
      fail(`duplicate id '${id}' (first on line ${seen}); this row is ignored`)
      continue
    }
    const values = fields.slice(1).map((v) => v.trim())
    const badColumn = values.findIndex((v) => v !== '0' && v !== '1')
    if (badColumn >= 0) {
      fail(`${STUDY_CSV_COLUMNS[badColumn]}: expected 0 or 1, found '${values[badColumn]}'`)
      continue
    }
    firstLine.set(studyId, line)
    const classes = Object.fromEntries(STUDY_CLASSES.map((c, i) => [c, values[i] === '1' ? 1 : 0])) as Record<
      StudyClass,
      0 | 1
    >
    const ones = STUDY_CLASSES.filter((c) => classes[c] === 1)
    if (ones.length !== 1)
      fail(`not one-hot: ${ones.length} classes are 1 (${values.join(',')}); the study's class is unknown`)
    labels.push({ studyId, classes, label: ones.length === 1 ? ones[0] : null, line })
  }
  errors.sort((a, b) => a.line - b.line)
  return { labels, errors }
}

/** Writes train_study_level.csv text (header + one row per label, in the given order). */
export function formatStudyCsv(labels: readonly StudyLabel[]): string {
  const lines = [STUDY_CSV_HEADER.map(csvField).join(',')]
  for (const label of labels) {
    lines.push(
      [
        csvField(`${label.studyId}${STUDY_SUFFIX}`),
        ...STUDY_CLASSES.map((c) => String(label.classes[c]))
      ].join(',')
    )
  }
  return lines.join('\n') + '\n'
}
