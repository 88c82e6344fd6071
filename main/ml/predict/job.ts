// The prediction worker's three jobs and the summaries they send back (small: the files hold the rest).
import type { FileError } from '../../../common/domain'
import { assertOutputAllowed, datasetSource, inputSource, type ReadOnlySource } from '../../core/write-target'
import { readRunConfig } from '../runs/run-folder'
import type { RunConfigFile } from '../train/trainer'
import { runEvaluation, type EvaluateOptions, type Evaluation } from './evaluate'
import { fitStudyFusion, type FitStudyFusionOptions } from './study-fusion'
import type { StudyFusionFile } from './study-fusion-file'
import { trainedOnOf } from './truth-choice'
import { writeKaggleSubmission, writePredictions, type SubmissionOutcome } from './outputs'
import { describeRuntime } from './runtime-info'
import { runPrediction, type PredictContext, type PredictOptions, type PredictionSet } from './run'

export type PredictJob =
  | { kind: 'predict'; options: PredictOptions; out: string; submission?: string }
  | { kind: 'submit'; options: PredictOptions; out: string; predictions?: string }
  | { kind: 'evaluate'; options: EvaluateOptions; predictions?: string }
  | { kind: 'fit-study'; options: FitStudyFusionOptions }

export interface PredictSummary {
  run: string
  checkpoint: PredictionSet['checkpoint']
  /** What predicted, in words: the checkpoint and its epoch, or the imported model. */
  predictedWith: string
  backend: string
  /** What ran inference: `onnxruntime 1.30.0 (cpu provider, 2 threads)` or the tfjs backend. */
  runtime: string
  images: number
  studies: number
  /** Where the study rows came from, and why not from the mode asked for (a run without study-fusion.json). */
  studyFrom: PredictionSet['settings']['studyFrom']
  studyFromNote: string | null
  boxes: number
  errors: FileError[]
  predictionsPath: string | null
  submission: SubmissionOutcome | null
}

export type PredictJobResult = PredictSummary & {
  evaluation?: Omit<Evaluation, 'predictions'>
  /** fit-study: the file written and what the fit measured. */
  studyFusion?: { path: string; file: StudyFusionFile }
}

function summary(
  set: PredictionSet,
  predictionsPath: string | null,
  submission: SubmissionOutcome | null
): PredictSummary {
  return {
    run: set.run,
    checkpoint: set.checkpoint,
    predictedWith: set.model
      ? `the imported ${set.model.format} model ${set.model.source} (${set.model.inputSize} px)`
      : `${set.checkpoint.name} (epoch ${set.checkpoint.epoch}, step ${set.checkpoint.globalStep})`,
    backend: `${set.backend.name} on ${set.backend.device}`,
    runtime: describeRuntime(set.runtime),
    images: set.images.length,
    studies: set.studies.length,
    studyFrom: set.settings.studyFrom,
    studyFromNote: set.studyFromNote ?? null,
    boxes: set.images.reduce((n, i) => n + i.boxes.length, 0),
    errors: set.errors,
    predictionsPath,
    submission
  }
}

/**
 * Checks every file the job will write before the minutes of prediction: never inside the folder it
 * predicts (e.g. over its sample_submission.csv), never over a truth CSV it reads.
 */
async function assertOutputsAllowed(job: Exclude<PredictJob, { kind: 'fit-study' }>): Promise<void> {
  const sources: ReadOnlySource[] = [datasetSource(job.options.dicomDir)]
  const outputs =
    job.kind === 'predict'
      ? [job.out, job.submission]
      : job.kind === 'submit'
        ? [job.out, job.predictions]
        : [job.predictions]
  if (job.kind === 'evaluate')
    for (const truth of [job.options.studyCsv, job.options.imageCsv])
      if (truth) sources.push(inputSource(truth))
  for (const out of outputs) if (out) await assertOutputAllowed(out, sources)
}

export async function runPredictJob(job: PredictJob, ctx: PredictContext = {}): Promise<PredictJobResult> {
  if (job.kind === 'fit-study') {
    const fitted = await fitStudyFusion(job.options, ctx)
    return {
      ...summary(fitted.predictions, null, null),
      studyFusion: { path: fitted.path, file: fitted.file }
    }
  }
  await assertOutputsAllowed(job)
  if (job.kind === 'evaluate') {
    const config = await readRunConfig<RunConfigFile>(job.options.run)
    const evaluation = await runEvaluation(job.options, trainedOnOf(config), ctx)
    if (job.predictions) await writePredictions(job.predictions, evaluation.predictions)
    const { predictions, ...rest } = evaluation
    return { ...summary(predictions, job.predictions ?? null, null), evaluation: rest }
  }
  const set = await runPrediction(job.options, ctx)
  if (job.kind === 'predict') {
    await writePredictions(job.out, set)
    const submission = job.submission ? await writeKaggleSubmission(job.submission, set) : null
    return summary(set, job.out, submission)
  }
  const submission = await writeKaggleSubmission(job.out, set)
  if (job.predictions) await writePredictions(job.predictions, set)
  return summary(set, job.predictions ?? null, submission)
}
