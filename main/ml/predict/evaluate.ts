// `evaluate`: predict a labelled folder with a run and score it with the competition metric.
import type { ScoreReport } from '../../core/metric/score'
import { UserError } from '../../core/errors'
import { runPrediction, type PredictContext, type PredictOptions, type PredictionSet } from './run'
import { readStudyFusion } from './study-fusion-file'
import { compareStudyModes, type StudyModeScore } from './study-modes'
import { chooseTruth, scorePredictions, type TrainedOn, type TruthSplit } from './truth-choice'

export { TEST_TRUTH_FILES, type TrainedOn } from './truth-choice'

export interface EvaluateOptions extends Omit<PredictOptions, 'split' | 'imageIds'> {
  /** Explicit truth CSVs (train_*_level.csv format); default: see chooseTruth. */
  studyCsv?: string
  imageCsv?: string
  /** Which truth (see TruthSplit); default: test when it exists, else val on the run's own dataset, else all. */
  split?: TruthSplit
  /** Also score every study mode on the same predictions (study-modes.ts). */
  compareStudyModes?: boolean
}

export interface Evaluation {
  report: Omit<ScoreReport, 'curves'>
  truthSource: string
  predictions: PredictionSet
  /** With compareStudyModes: each mode's scores and calibration. */
  studyModes?: StudyModeScore[]
}

export async function runEvaluation(
  options: EvaluateOptions,
  trainedOn: TrainedOn,
  ctx: PredictContext = {}
): Promise<Evaluation> {
  const truth = await chooseTruth(options, options.split, trainedOn)
  if (truth.images.length === 0) throw new UserError(`${truth.source}: no image rows to score`)
  const predictions = await runPrediction(
    { ...options, split: truth.split, imageIds: truth.images.map((i) => i.imageId) },
    ctx
  )
  const { curves: _curves, ...report } = scorePredictions(truth, predictions.images, predictions.studies)
  const studyModes = options.compareStudyModes
    ? compareStudyModes(
        truth,
        predictions.images,
        predictions.priors,
        (await readStudyFusion(options.run))?.models ?? null
      )
    : undefined
  return { report, truthSource: truth.source, predictions, ...(studyModes ? { studyModes } : {}) }
}
