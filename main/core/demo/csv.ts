// The Kaggle SIIM-FISABIO-RSNA label and submission CSVs, byte-compatible with the originals.
import { STUDY_CLASSES, STUDY_CSV_COLUMNS, type OpacityBox, type StudyClass } from '../../../common/domain'

export const NONE_LABEL = 'none 1 0 0 1 1'

/** A float the way Python's repr prints it (`789.28836`, `512.0`), as in the Kaggle files. */
export function pythonFloat(value: number): string {
  return Number.isInteger(value) ? value.toFixed(1) : String(value)
}

/** The `boxes` column: a Python-literal list of dicts, or empty. */
export function boxesLiteral(boxes: OpacityBox[]): string {
  if (boxes.length === 0) return ''
  const dicts = boxes.map(
    (b) =>
      `{'x': ${pythonFloat(b.x)}, 'y': ${pythonFloat(b.y)}, 'width': ${pythonFloat(b.width)}, 'height': ${pythonFloat(b.height)}}`
  )
  return `[${dicts.join(', ')}]`
}

/** The `label` column: `opacity 1 x1 y1 x2 y2` per box (corners rounded like the boxes), or `none 1 0 0 1 1`. */
export function labelString(boxes: OpacityBox[]): string {
  if (boxes.length === 0) return NONE_LABEL
  const round5 = (v: number) => Math.round(v * 1e5) / 1e5
  return boxes
    .map(
      (b) =>
        `opacity 1 ${[b.x, b.y, round5(b.x + b.width), round5(b.y + b.height)].map(pythonFloat).join(' ')}`
    )
    .join(' ')
}

function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function csvField(value: string): string {
  return /[",\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value
}

function csv(header: string[], rows: string[][]): string {
  return [header, ...rows].map((row) => row.map(csvField).join(',')).join('\n') + '\n'
}

export function studyLevelCsv(studies: Array<{ studyId: string; studyClass: StudyClass }>): string {
  const sorted = [...studies].sort((a, b) => byCodeUnits(a.studyId, b.studyId))
  return csv(
    ['id', ...STUDY_CSV_COLUMNS],
    sorted.map((s) => [`${s.studyId}_study`, ...STUDY_CLASSES.map((c) => (c === s.studyClass ? '1' : '0'))])
  )
}

export function imageLevelCsv(
  images: Array<{ imageId: string; studyId: string; boxes: OpacityBox[] }>
): string {
  const sorted = [...images].sort((a, b) => byCodeUnits(a.imageId, b.imageId))
  return csv(
    ['id', 'boxes', 'label', 'StudyInstanceUID'],
    sorted.map((i) => [`${i.imageId}_image`, boxesLiteral(i.boxes), labelString(i.boxes), i.studyId])
  )
}

/** Kaggle's sample submission: every study row (`negative 1 0 0 1 1`), then every image row (`none 1 0 0 1 1`). */
export function sampleSubmissionCsv(studyIds: string[], imageIds: string[]): string {
  return csv(
    ['id', 'PredictionString'],
    [
      ...[...studyIds].sort().map((id) => [`${id}_study`, 'negative 1 0 0 1 1']),
      ...[...imageIds].sort().map((id) => [`${id}_image`, NONE_LABEL])
    ]
  )
}
