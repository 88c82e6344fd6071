// The prediction layer: image rows of a Kaggle submission CSV, as boxes in original DICOM pixels.
import { readFile } from 'node:fs/promises'
import type { Prediction } from '../../../common/contract'
import { parseSubmissionCsv } from '../../core/submission/submission-csv'

/** Predictions per imageId (`opacity` boxes and whole-image `none` rows alike, with their scores). */
export async function readSubmissionPredictions(file: string): Promise<Map<string, Prediction[]>> {
  const parsed = parseSubmissionCsv(await readFile(file, 'utf8'), undefined, file)
  const predictions = new Map<string, Prediction[]>()
  for (const row of parsed.rows) {
    if (!row.id.endsWith('_image')) continue
    const boxes = row.detections.map((d) => ({
      label: d.cls,
      score: d.confidence,
      x: d.x1,
      y: d.y1,
      width: d.x2 - d.x1,
      height: d.y2 - d.y1
    }))
    predictions.set(row.id.slice(0, -'_image'.length), boxes)
  }
  return predictions
}
