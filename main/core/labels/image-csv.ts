// train_image_level.csv: `id,boxes,label,StudyInstanceUID`.
import type { ImageLabel, LabelError } from '../../../common/dataset'
import type { OpacityBox } from '../../../common/domain'
import {
  formatBoxesField,
  formatLabelField,
  labelBoxesMismatch,
  parseBoxesField,
  parseLabelField,
  type ParsedLabel
} from './boxes'
import { csvField, readCsvTable } from './csv-lines'

export const IMAGE_CSV_FILE = 'train_image_level.csv'
export const IMAGE_CSV_HEADER = ['id', 'boxes', 'label', 'StudyInstanceUID'] as const
const IMAGE_SUFFIX = '_image'

export interface ImageCsv {
  labels: ImageLabel[]
  errors: LabelError[]
}

/**
 * Parses train_image_level.csv. Rows with an unreadable id, study, `boxes` or `label`, and repeated
 * ids, are skipped with an error. When `boxes` and `label` are both readable but disagree, the row
 * is kept with the `boxes` column (what training and the organisers' notebooks use) and reported.
 */
export function parseImageCsv(text: string, file = IMAGE_CSV_FILE): ImageCsv {
  const { rows, problems } = readCsvTable(text, IMAGE_CSV_HEADER, IMAGE_SUFFIX)
  const errors: LabelError[] = problems.map((p) => ({ file, ...p }))
  const labels: ImageLabel[] = []
  const firstLine = new Map<string, number>()

  for (const { line, fields } of rows) {
    const fail = (reason: string) => errors.push({ file, line, reason })
    const [rawId, boxesText, labelText, rawStudy] = fields
    const id = rawId.trim()
    const imageId = id.endsWith(IMAGE_SUFFIX) ? id.slice(0, -IMAGE_SUFFIX.length) : ''
    if (!imageId) {
      fail(`id: expected '<image>${IMAGE_SUFFIX}', found '${id}'`)
      continue
    }
    const studyId = rawStudy.trim()
    if (!studyId || /\s/.test(studyId)) {
      fail(`StudyInstanceUID: expected a study id, found '${studyId}'`)
      continue
    }
    const seen = firstLine.get(imageId)
    if (seen !== undefined) {
      fail(`duplicate id '${id}' (first on line ${seen}); this row is ignored`)
      continue
    }
    let boxes: OpacityBox[]
    let parsedLabel: ParsedLabel
    try {
      boxes = parseBoxesField(boxesText)
    } catch (err) {
      fail(`boxes: ${(err as Error).message}`)
      continue
    }
    try {
      parsedLabel = parseLabelField(labelText)
    } catch (err) {
      fail(`label: ${(err as Error).message}`)
      continue
    }
    firstLine.set(imageId, line)
    const mismatch = labelBoxesMismatch(boxes, parsedLabel)
    if (mismatch) fail(`label disagrees with boxes: ${mismatch}; using boxes`)
    labels.push({ imageId, studyId, boxes, label: labelText.trim(), line })
  }
  errors.sort((a, b) => a.line - b.line)
  return { labels, errors }
}

/**
 * Writes train_image_level.csv text. `label` is regenerated from the boxes (they are the source of
 * truth once a user edits them), so the two columns always agree; for Kaggle's own rows this
 * reproduces the original text.
 */
export function formatImageCsv(labels: readonly ImageLabel[]): string {
  const lines = [IMAGE_CSV_HEADER.join(',')]
  for (const label of labels) {
    lines.push(
      [
        `${label.imageId}${IMAGE_SUFFIX}`,
        formatBoxesField(label.boxes),
        formatLabelField(label.boxes),
        label.studyId
      ]
        .map(csvField)
        .join(',')
    )
  }
  return lines.join('\n') + '\n'
}
