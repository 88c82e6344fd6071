// How predictions read on screen: the Predictions list, the layer panel and the Evaluation view.
import type { PredictionSummary, PredictionsSummary, RowError } from '../../../common/contract'
import { SCOPE_LABELS } from './predict-form'

/** `best (epoch 3)`, or `imported yolov5 · model.onnx` for a model trained elsewhere. */
export function describeCheckpoint(summary: PredictionSummary): string {
  if (summary.model) return `imported ${summary.model.format} · ${summary.model.source}`
  return `${summary.checkpoint.name} (epoch ${summary.checkpoint.epoch})`
}

/** `test/ split`, `this image only (65761e66de9f)`. */
export function describeScope(summary: Pick<PredictionSummary, 'scope' | 'imageId'>): string {
  const label = summary.scope === 'image' ? 'one image' : SCOPE_LABELS[summary.scope]
  return summary.scope === 'image' && summary.imageId ? `${label} (${summary.imageId})` : label
}

/** `2026-03-04 15:07`, local time, for a list. */
export function formatWhen(iso: string): string {
  const date = new Date(iso)
  if (Number.isNaN(date.getTime())) return iso
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}`
}

const count = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`

/** `12 boxes on 8 images · 4 studies`. */
export function describeLayerCounts(layer: Pick<PredictionsSummary, 'boxes' | 'images' | 'studies'>): string {
  return `${count(layer.boxes, 'box', 'boxes')} on ${count(layer.images, 'image', 'images')} · ${count(layer.studies, 'study', 'studies')}`
}

/** `line 7: 65761e66de9f_image: …` — the row's line in the CSV first, as an editor shows it. */
export function describeRowError(error: RowError): string {
  return error.line > 0 ? `line ${error.line}: ${error.message}` : error.message
}

/** `3 rows could not be read` for the panel's heading. */
export function describeRowErrorCount(errors: number): string {
  return `${count(errors, 'row', 'rows')} could not be read (the others are loaded)`
}

/** Where the layer comes from, in one line: `submission.csv (CSV)`, `r1-test (stored prediction)`. */
export function describeLayerKind(layer: Pick<PredictionsSummary, 'kind'>): string {
  return layer.kind === 'prediction' ? 'stored prediction' : 'submission CSV'
}

/** A score with 4 decimals (the metric's figures), or an em dash when there is none. */
export function formatMetric(value: number | null | undefined, digits = 4): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '—' : value.toFixed(digits)
}
