// What prediction writes: a predictions JSON (per image boxes and scores, per study probabilities)
// and a Kaggle submission with every id of the folder, validated before it is written.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { STUDY_CLASSES } from '../../../common/domain'
import { writeJsonAtomic, writeFileAtomic } from '../../core/fs-atomic'
import { imageRowId, studyRowId } from '../../core/metric/truth'
import { formatSubmission, hasErrors, readSample, validateSubmission } from '../../core/submission/validate'
import { SUBMISSION_HEADER, type SubmissionIssue } from '../../core/submission/submission-csv'
import type { ImagePredictionRecord } from './predict-images'
import type { PredictionSet } from './run'
import { submissionRows, type StudyPredictionRecord, type StudyPriors } from './study-level'

/** What a submission is written from: a fresh PredictionSet, or a stored predictions.json. */
export interface SubmissionInput {
  dataset: { root: string }
  /** The images predicted: their ids make the sample when the folder has no sample_submission.csv. */
  selected: ReadonlyArray<{ imageId: string; studyId: string }>
  images: readonly ImagePredictionRecord[]
  studies: readonly StudyPredictionRecord[]
  /** Study-class frequencies of the run's training split (the neutral row of an unpredicted study). */
  priors: StudyPriors
}

export const PREDICTIONS_FORMAT = 'cxr-studio-predictions'
export const PREDICTIONS_VERSION = 1

export function predictionsDocument(set: PredictionSet) {
  return {
    format: PREDICTIONS_FORMAT,
    formatVersion: PREDICTIONS_VERSION,
    createdAt: new Date().toISOString(),
    run: set.run,
    checkpoint: set.checkpoint,
    dataset: set.dataset.root,
    backend: { name: set.backend.name, device: set.backend.device },
    runtime: set.runtime,
    settings: set.settings,
    coordinates: 'original DICOM pixels, corner form (x1, y1, x2, y2)',
    images: set.images,
    studies: set.studies,
    errors: set.errors,
    ...(set.ensemble ? { ensemble: set.ensemble } : {}),
    ...(set.model ? { model: set.model } : {})
  }
}

export async function writePredictions(path: string, set: PredictionSet): Promise<void> {
  await writeJsonAtomic(path, predictionsDocument(set))
}

/**
 * The sample submission of the prediction: the folder's sample_submission.csv when it has one,
 * else one built from the predicted folder's ids (Kaggle's order: study rows, then image rows).
 */
export async function sampleFor(set: SubmissionInput): Promise<{ text: string; source: string }> {
  const file = join(set.dataset.root, 'sample_submission.csv')
  const text = await readFile(file, 'utf8').catch(() => null)
  if (text !== null) return { text, source: file }
  const studies = [...new Set(set.selected.map((s) => s.studyId))].sort()
  const images = set.selected.map((s) => s.imageId).sort()
  const lines = [
    SUBMISSION_HEADER,
    ...studies.map((id) => `${studyRowId(id)},negative 1 0 0 1 1`),
    ...images.map((id) => `${imageRowId(id)},none 1 0 0 1 1`)
  ]
  return { text: lines.join('\n') + '\n', source: 'the predicted folder' }
}

export interface SubmissionOutcome {
  path: string
  rows: number
  /** Ids without a prediction (unreadable files, or in the sample but not in the folder): filled with neutral rows. */
  filled: string[]
  sample: string
  issues: SubmissionIssue[]
}

/**
 * Writes the submission: all four study classes with probabilities on study rows, opacity boxes and
 * `none` on image rows. Ids in the sample that were not predicted get a neutral row (study: the
 * training class frequencies; image: `none 0.5`) and are listed. The text is validated against the
 * sample first; a problem is a bug, never a file written.
 */
export async function writeKaggleSubmission(path: string, set: SubmissionInput): Promise<SubmissionOutcome> {
  const sample = await sampleFor(set)
  const rows = submissionRows(set.images, set.studies)
  const predicted = new Set(rows.map((r) => r.id))
  // parsed as CSV: a sample written with quotes (R, pandas QUOTE_ALL) has the same ids
  const sampleIds = readSample(sample.text, sample.source).map((row) => row.id)
  const filled = sampleIds.filter((id) => !predicted.has(id))
  const sampleSet = new Set(sampleIds)
  for (const id of filled) {
    if (id.endsWith('_study')) {
      rows.push({
        id,
        detections: STUDY_CLASSES.map((cls) => ({
          cls,
          confidence: set.priors[cls] ?? 0.25,
          x1: 0,
          y1: 0,
          x2: 1,
          y2: 1
        }))
      })
    } else {
      rows.push({ id, detections: [{ cls: 'none', confidence: 0.5, x1: 0, y1: 0, x2: 1, y2: 1 }] })
    }
  }
  // predictions for ids the sample does not list (e.g. extra files in the folder) are left out
  const kept = rows.filter((r) => sampleSet.has(r.id))
  const text = formatSubmission(kept, sample.text)
  const issues = validateSubmission(text, sample.text)
  if (hasErrors(issues)) {
    const first = issues.find((i) => i.severity === 'error')!
    throw new Error(`the generated submission does not validate (line ${first.line}: ${first.message})`)
  }
  await writeFileAtomic(path, text)
  return { path, rows: kept.length, filled, sample: sample.source, issues }
}
