// Which ground truth a prediction is scored against, and the scoring itself: shared by `evaluate`
// (which predicts first) and the back end's Evaluation view (which scores a stored prediction), so
// both give the same figures. No tfjs here: the back end imports it.
import { readFile, realpath } from 'node:fs/promises'
import { join } from 'node:path'
import type { FilterPolicy, ImageLabel, StudyLabel } from '../../../common/dataset'
import { UserError, errorMessage } from '../../core/errors'
import { applyPolicy, openDataset, readTestTruth, TEST_TRUTH_FILES } from '../../core/dataset'
import { parseImageCsv, parseStudyCsv } from '../../core/labels'
import { score, type ScoreReport } from '../../core/metric/score'
import { truthFromLabels } from '../../core/metric/truth'
import { RUN_FILES, readJson, type RunSplit } from '../runs/run-folder'
import type { ImagePredictionRecord } from './predict-images'
import { submissionRows, type StudyPredictionRecord } from './study-level'

/** Held-out truth files next to a demo's test split (see the demo README). */
export { TEST_TRUTH_FILES } from '../../core/dataset'

/**
 * `test`: the held-out test_*_level.csv beside test/; `val`: the run's validation studies (its own
 * dataset); `all`: every labelled train image. Default: test when those files exist, else val on
 * the run's own dataset, else all.
 */
export type TruthSplit = 'test' | 'val' | 'all'

export interface TruthOptions {
  /** The run folder (for its validation split). */
  run: string
  /** The predicted folder. */
  dicomDir: string
  workspace: string
  /** Explicit truth CSVs (train_*_level.csv format). */
  studyCsv?: string
  imageCsv?: string
}

/** What the run was trained on (from its config.json). */
export interface TrainedOn {
  dataset: string
  policy: FilterPolicy
}

/**
 * What a run's config.json says it was trained on; a run with no training of its own (an imported
 * model) has no dataset here, so a labelled folder is scored on all its labelled images.
 */
export function trainedOnOf(config: { train?: { dataset: string; policy: FilterPolicy } }): TrainedOn {
  return config.train ? { dataset: config.train.dataset, policy: config.train.policy } : { dataset: '', policy: 'keep-all' }
}

export interface TruthChoice {
  source: string
  studies: StudyLabel[]
  images: ImageLabel[]
  split: 'test' | 'train' | 'all'
}

async function readCsv(path: string): Promise<string> {
  return readFile(path, 'utf8').catch((err) => {
    throw new UserError(
      `${path}: cannot read the truth file: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}`
    )
  })
}

/**
 * Which truth: explicit CSVs; else the held-out test_*_level.csv beside a folder with a test split;
 * else the folder's train labels, restricted to the run's validation studies when the folder is the
 * run's own dataset (scoring training images would flatter the model).
 */
export async function chooseTruth(
  options: TruthOptions,
  wanted: TruthSplit | undefined,
  trainedOn: TrainedOn
): Promise<TruthChoice> {
  if (options.studyCsv || options.imageCsv) {
    if (!options.studyCsv || !options.imageCsv)
      throw new UserError('give both --study-csv and --image-csv, or neither')
    const studies = parseStudyCsv(await readCsv(options.studyCsv), options.studyCsv).labels
    const images = parseImageCsv(await readCsv(options.imageCsv), options.imageCsv).labels
    return { source: `${options.studyCsv} + ${options.imageCsv}`, studies, images, split: 'all' }
  }
  const dataset = await openDataset(options.dicomDir, { workspace: options.workspace })
  const testTruth = await readTestTruth(options.dicomDir)
  const testAvailable = dataset.images.some((i) => i.split === 'test' && i.record) && testTruth !== null
  if (wanted === 'test' && !testAvailable) {
    throw new UserError(
      `${options.dicomDir}: --split test needs test/ images and ${TEST_TRUTH_FILES.study} + ${TEST_TRUTH_FILES.image} beside them`
    )
  }
  if (testTruth && testAvailable && (wanted === undefined || wanted === 'test')) {
    return {
      source: `${join(options.dicomDir, TEST_TRUTH_FILES.study)} + ${join(options.dicomDir, TEST_TRUTH_FILES.image)}`,
      studies: [...testTruth.studies.values()],
      images: [...testTruth.images.values()],
      split: 'test'
    }
  }
  if (!dataset.labelFiles.image || !dataset.labelFiles.study) {
    throw new UserError(
      `${options.dicomDir}: no labels to score against (need train_study_level.csv and train_image_level.csv, test_*_level.csv beside test/, or --study-csv/--image-csv)`
    )
  }
  const ownDataset = trainedOn.dataset !== '' && (await sameFolder(options.dicomDir, trainedOn.dataset))
  const split = wanted === 'all' || wanted === 'val' ? wanted : ownDataset ? 'val' : 'all'
  // the validation split is scored on the images validation used (the run's policy); a whole folder on all of them
  let kept = applyPolicy(dataset, split === 'val' ? trainedOn.policy : 'keep-all')
  if (split === 'val') {
    if (!ownDataset) throw new UserError(`--split val needs the run's own dataset (${trainedOn.dataset})`)
    const runSplit = await readJson<RunSplit>(join(options.run, RUN_FILES.split), 'the run split')
    const val = new Set(runSplit.valStudies)
    kept = kept.filter((i) => val.has(i.studyId))
  }
  const studyIds = new Set(kept.map((i) => i.studyId))
  return {
    source: `${split === 'val' ? "the run's validation studies" : 'every labelled train image'} of ${options.dicomDir}`,
    studies: dataset.studies.filter((s) => s.label && studyIds.has(s.studyId)).map((s) => s.label!),
    images: kept.map((i) => i.label!),
    split: 'train'
  }
}

/**
 * The competition metric of predicted images against `truth`, restricted to what was predicted (a
 * file that failed to decode is listed with the prediction's errors, not scored as a miss).
 */
export function scorePredictions(
  truth: TruthChoice,
  images: readonly ImagePredictionRecord[],
  studies: readonly StudyPredictionRecord[],
  /** Drop every detection (box, `none`, study class) below this confidence first. */
  minConfidence = 0
): ScoreReport {
  const predictedIds = new Set(images.map((i) => i.imageId))
  const predictedStudies = new Set(images.map((i) => i.studyId))
  const { truth: groundTruth } = truthFromLabels(
    truth.studies.filter((s) => predictedStudies.has(s.studyId)),
    truth.images.filter((i) => predictedIds.has(i.imageId))
  )
  const rows = submissionRows(images, studies).map((row) =>
    minConfidence > 0
      ? { ...row, detections: row.detections.filter((d) => d.confidence >= minConfidence) }
      : row
  )
  return score(groundTruth, rows)
}

export async function sameFolder(a: string, b: string): Promise<boolean> {
  const [ra, rb] = await Promise.all([realpath(a).catch(() => a), realpath(b).catch(() => b)])
  return ra === rb
}
