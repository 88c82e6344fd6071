// The New prediction form as plain state: what the user picked, the request it makes, and the
// problems named per field before anything starts (the back end checks again on start).
import { PredictRequest, RunName, type PredictScope, type RunSummary } from '../../../common/contract'
import type { RuntimeChoice } from '../../../common/training'
import { STUDY_FROM_CHOICES, type StudyFrom } from '../../../common/domain'

export interface PredictForm {
  runId: string
  checkpoint: 'best' | 'last'
  datasetId: string
  scope: PredictScope
  /** With scope `image`: the image the user came from. */
  imageId: string
  tta: boolean
  merge: 'nms' | 'wbf'
  runtime: RuntimeChoice
  /** Where study rows come from; '' = the run's default (see STUDY_FROM_LABELS). */
  studyFrom: StudyFrom | ''
  name: string
}

/** The study modes in the form, the run's default first. */
export const STUDY_FROM_LABELS: Record<StudyFrom | '', string> = {
  '': "the run's default (fused when it has study-fusion.json, else combined)",
  'study-head': 'the study head',
  'box-majority': 'box-majority rule (best box score, training priors)',
  combined: 'mean of the study head and box-majority',
  'box-evidence': 'regression on where and how many boxes',
  fused: 'regression on the boxes and the study head'
}
export const STUDY_FROM_OPTIONS: Array<StudyFrom | ''> = ['', ...STUDY_FROM_CHOICES]

export const RUNTIME_LABELS: Record<RuntimeChoice, string> = {
  auto: 'auto (ONNX Runtime when it loads, else tfjs)',
  onnx: 'ONNX Runtime only',
  tfjs: 'tfjs only'
}

export const SCOPE_LABELS: Record<PredictScope, string> = {
  test: 'test/ split',
  train: 'train/ split',
  all: 'every image',
  image: 'this image only'
}

export function emptyPredictForm(preset: Partial<PredictForm> = {}): PredictForm {
  return {
    runId: '',
    checkpoint: 'best',
    datasetId: '',
    scope: preset.imageId ? 'image' : 'test',
    imageId: '',
    tta: false,
    merge: 'nms',
    runtime: 'auto',
    studyFrom: '',
    name: '',
    ...preset
  }
}

/** Runs that can predict: at least one epoch written (a checkpoint exists) or an ensemble, not training now. */
export function predictableRuns(runs: readonly RunSummary[]): RunSummary[] {
  return runs.filter(
    (run) =>
      (run.epochs > 0 ||
        Boolean(run.imported) ||
        Boolean(run.ensemble && run.ensemble.members.every((m) => !m.missing))) &&
      run.state !== 'running' &&
      run.state !== 'queued'
  )
}

export type PredictField = keyof PredictForm

export function predictRequest(
  form: PredictForm
):
  | { request: PredictRequest; errors: null }
  | { request: null; errors: Partial<Record<PredictField, string>> } {
  const errors: Partial<Record<PredictField, string>> = {}
  if (!form.runId) errors.runId = 'choose a run'
  if (!form.datasetId) errors.datasetId = 'choose a dataset'
  if (form.scope === 'image' && !form.imageId)
    errors.scope = 'open an image in the viewer to predict it alone'
  const name = form.name.trim()
  if (name) {
    const parsed = RunName.safeParse(name)
    if (!parsed.success) errors.name = parsed.error.issues[0]?.message ?? 'not a valid name'
  }
  if (Object.keys(errors).length) return { request: null, errors }
  const parsed = PredictRequest.safeParse({
    runId: form.runId,
    checkpoint: form.checkpoint,
    datasetId: form.datasetId,
    scope: form.scope,
    imageId: form.scope === 'image' ? form.imageId : undefined,
    tta: form.tta,
    merge: form.merge,
    runtime: form.runtime,
    studyFrom: form.studyFrom || undefined,
    name: name || undefined
  })
  if (!parsed.success) {
    for (const issue of parsed.error.issues) errors[(issue.path[0] as PredictField) ?? 'name'] = issue.message
    return { request: null, errors }
  }
  return { request: parsed.data, errors: null }
}
