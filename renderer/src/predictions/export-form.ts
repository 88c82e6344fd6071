// The Export view's forms as plain state: one form shared by the four formats (each uses its
// fields), the request each makes, the problems per field, and the name the output path suggestion
// is built from. The back end checks the path (checkOutput) and the request again.
import { ExportDatasetRequest, ExportPredictionRequest, type FilterPolicy } from '../../../common/contract'

export type ExportFormat = 'coco' | 'yolo' | 'coco-results' | 'submission'

export const EXPORT_FORMATS: Record<
  ExportFormat,
  { title: string; description: string; kind: 'file' | 'folder' }
> = {
  coco: {
    title: 'COCO',
    description: 'COCO train.json and val.json, split by study, optionally with PNG images',
    kind: 'folder'
  },
  yolo: {
    title: 'YOLO',
    description: 'Ultralytics images, labels and data.yaml per split, optionally with the test/ split',
    kind: 'folder'
  },
  'coco-results': {
    title: 'COCO results',
    description:
      'The detections of a stored prediction as COCO results (results.json) with the COCO images file its ids refer to',
    kind: 'folder'
  },
  submission: {
    title: 'Kaggle submission',
    description:
      'A CSV of id,PredictionString for every test image and study, checked against sample_submission.csv',
    kind: 'file'
  }
}

export interface ExportForm {
  format: ExportFormat
  valFraction: string
  seed: string
  policy: FilterPolicy
  categories: 'opacity' | 'study'
  images: 'none' | 'png8' | 'png16'
  size: string
  /** Also the test/ split, unlabelled (YOLO: images/test and `test:`; COCO: test.json). */
  test: boolean
  /** Training recipes (scripts + README) beside a COCO/YOLO export. */
  recipes: boolean
  /** Prediction formats: a stored prediction, or (submission) a run on the dataset's test split. */
  source: 'prediction' | 'run'
  predictionId: string
  runId: string
  checkpoint: 'best' | 'last'
}

export function emptyExportForm(preset: Partial<ExportForm> = {}): ExportForm {
  return {
    format: 'coco',
    valFraction: '0.2',
    seed: '42',
    policy: 'keep-boxed',
    categories: 'opacity',
    images: 'none',
    size: '',
    test: false,
    recipes: true,
    source: 'prediction',
    predictionId: '',
    runId: '',
    checkpoint: 'best',
    ...preset
  }
}

/** Letters, digits, dot, dash and underscore (the back end's name rule), at most 80 characters. */
export function safeName(text: string, fallback = 'export'): string {
  const cleaned = text
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .replace(/-+$/, '')
  return cleaned || fallback
}

function withSuffix(base: string, suffix: string): string {
  return safeName(base).slice(0, 80 - suffix.length) + suffix
}

/** The base name the output suggestion is made from (`siim-demo-coco`, `r1-test-submission.csv`). */
export function suggestedName(form: ExportForm, datasetName: string): string {
  switch (form.format) {
    case 'coco':
      return withSuffix(datasetName, '-coco')
    case 'yolo':
      return withSuffix(datasetName, '-yolo')
    case 'coco-results':
      return withSuffix(form.predictionId || 'prediction', '-coco-results')
    case 'submission':
      return form.source === 'prediction' && form.predictionId
        ? withSuffix(form.predictionId, '-submission.csv')
        : withSuffix(datasetName, '-submission.csv')
  }
}

export type ExportField = keyof ExportForm | 'out'
export type ExportErrors = Partial<Record<ExportField, string>>

export type ExportCall =
  | { call: 'exportDataset'; request: ExportDatasetRequest }
  | { call: 'exportPrediction'; request: ExportPredictionRequest }

function numberField(
  text: string,
  errors: ExportErrors,
  field: ExportField,
  check: (n: number) => string | null
): number | undefined {
  if (!text.trim()) return undefined
  const value = Number(text)
  const problem = Number.isFinite(value) ? check(value) : 'not a number'
  if (problem) errors[field] = problem
  return value
}

/** Without the keys left unset (the request then says only what the user chose). */
function defined<T extends Record<string, unknown>>(fields: T): T {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as T
}

/** The request the form makes, or the problems per field. */
export function exportCall(
  form: ExportForm,
  datasetId: string,
  out: string,
  overwrite = false
): { call: ExportCall; errors: null } | { call: null; errors: ExportErrors } {
  const errors: ExportErrors = {}
  if (!out.trim()) errors.out = 'choose where to write'
  const common = { out: out.trim(), ...(overwrite ? { overwrite: true } : {}) }
  if (form.format === 'coco' || form.format === 'yolo') {
    const valFraction = numberField(form.valFraction, errors, 'valFraction', (n) =>
      n >= 0 && n < 1 ? null : 'a fraction from 0 up to (not including) 1'
    )
    const seed = numberField(form.seed, errors, 'seed', (n) =>
      Number.isInteger(n) ? null : 'a whole number'
    )
    const size = numberField(form.size, errors, 'size', (n) =>
      Number.isInteger(n) && n >= 32 && n <= 8192 ? null : 'a whole number of pixels from 32 to 8192'
    )
    const images = form.format === 'yolo' && form.images === 'none' ? 'png8' : form.images
    if (size !== undefined && images === 'none' && !errors.size) errors.size = 'a size needs PNG images'
    if (Object.keys(errors).length) return { call: null, errors }
    const request = ExportDatasetRequest.parse(
      defined({
        datasetId,
        format: form.format,
        valFraction,
        seed,
        policy: form.policy,
        categories: form.format === 'coco' ? form.categories : undefined,
        images,
        size,
        test: form.test || undefined,
        // on by default in the back end: only the opt-out is sent
        recipes: form.recipes ? undefined : false,
        ...common
      })
    )
    return { call: { call: 'exportDataset', request }, errors: null }
  }
  const fromRun = form.format === 'submission' && form.source === 'run'
  if (fromRun && !form.runId) errors.runId = 'choose a run'
  if (!fromRun && !form.predictionId) errors.predictionId = 'choose a stored prediction'
  if (Object.keys(errors).length) return { call: null, errors }
  const request = ExportPredictionRequest.parse(
    fromRun
      ? { format: form.format, runId: form.runId, checkpoint: form.checkpoint, datasetId, ...common }
      : { format: form.format, predictionId: form.predictionId, ...common }
  )
  return { call: { call: 'exportPrediction', request }, errors: null }
}
