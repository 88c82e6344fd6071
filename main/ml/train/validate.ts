// Validation after each epoch: loss parts in inference mode and the competition metric (six-class
// VOC AP@0.5) on the validation split, computed by the same code that scores submissions. The
// predictions come back too, so the epoch's samples are drawn from them instead of predicting again.
import type { ImageLabel, StudyLabel } from '../../../common/dataset'
import type { ProgressListener } from '../../../common/domain'
import { score, type ScoreReport } from '../../core/metric/score'
import { truthFromLabels } from '../../core/metric/truth'
import type { BatchLoader } from '../data/loader'
import type { Detector } from '../detect/detector'
import {
  predictSamples,
  type ImagePredictionRecord,
  type PredictionSettings
} from '../predict/predict-images'
import {
  needsFusion,
  studyPredictions,
  submissionRows,
  type StudyPredictionRecord,
  type StudyPriors
} from '../predict/study-level'
import type { LossParts } from '../runs/results-csv'
import { LossMeter, sliceBatch, validationLosses } from './step'

export interface ValidationResult {
  losses: LossParts
  report: ScoreReport
  /** Every validation image's prediction, and the study-level probabilities that were scored. */
  images: ImagePredictionRecord[]
  studies: StudyPredictionRecord[]
}

export async function validate(
  detector: Detector,
  loader: BatchLoader,
  truthLabels: { studies: StudyLabel[]; images: ImageLabel[] },
  settings: PredictionSettings,
  priors: StudyPriors,
  options: { signal?: AbortSignal; onProgress?: ProgressListener; microBatch?: number } = {}
): Promise<ValidationResult> {
  const meter = new LossMeter()
  const chunk = Math.max(1, options.microBatch ?? Number.POSITIVE_INFINITY)
  for await (const batch of loader.batches(0)) {
    options.signal?.throwIfAborted()
    // the loss keeps every activation until it is read: the same memory bound as training
    for (let start = 0; start < batch.samples.length; start += chunk) {
      const part = sliceBatch(batch, start, Math.min(batch.samples.length, start + chunk))
      meter.add(validationLosses(detector, part), part.samples.length)
    }
  }
  const images = await predictSamples(detector, loader, settings, {
    signal: options.signal,
    onProgress: options.onProgress,
    stage: 'validate'
  })
  // the fitted study regressions exist only after training: until then validation scores `combined`
  const studies = studyPredictions(
    images,
    needsFusion(settings.studyFrom) ? 'combined' : settings.studyFrom,
    priors
  )
  const { truth } = truthFromLabels(truthLabels.studies, truthLabels.images)
  return { losses: meter.mean(), report: score(truth, submissionRows(images, studies)), images, studies }
}
