// Study-level probabilities from image predictions, and the Kaggle rows both levels become.
import { STUDY_CLASSES, type StudyClass, type StudyFrom } from '../../../common/domain'
import { imageRowId, studyRowId } from '../../core/metric/truth'
import type { SubmissionRow } from '../../core/submission/submission-csv'
import { boxMajority, UNIFORM_PRIORS, type StudyPriors } from '../../core/submission/study-rule'
import type { ImagePredictionRecord } from './predict-images'
import { softmaxProbabilities, studyFeatures, type SoftmaxModel } from './study-evidence'

export interface StudyPredictionRecord {
  studyId: string
  imageIds: string[]
  probabilities: Record<StudyClass, number>
}

export { UNIFORM_PRIORS, type StudyPriors } from '../../core/submission/study-rule'

/**
 * The default study mode, chosen by measurement (`evaluate --compare-study-modes` on the hard demo's
 * held-out test split; the figures are in STUDY_FROM_REASON and in every new run's config.json).
 * Runs without study-fusion.json fall back to `combined` (what they predicted before).
 */
export const DEFAULT_STUDY_FROM: StudyFrom = 'fused'
export const STUDY_FROM_REASON =
  'evaluate --compare-study-modes, 128 px. Default demo (75 steps, 80 test studies), final global/spatial head: ' +
  'fused 0.503/0.664, box-evidence 0.500/0.631, combined 0.360/0.565, box-majority 0.377/0.521, study-head 0.326/0.481. ' +
  'Hard demo (65 steps, 2 seeds x 2 heads, 60 test studies), mean final: study-head 0.278, combined 0.276, fused 0.274, ' +
  'box-majority 0.272, box-evidence 0.266 - within noise, and fused had the best-calibrated study probabilities ' +
  '(log-loss 1.31, ECE 0.056; study-head 1.47/0.065, combined 1.55/0.25, box-majority 1.98/0.45)'

/** A run's fitted study regressions (study-fusion.json): one per mode that needs fitting. */
export interface StudyFusionModels {
  'box-evidence': SoftmaxModel
  fused: SoftmaxModel
}

/** The modes that need a run's fitted regressions. */
export function needsFusion(mode: StudyFrom): mode is 'box-evidence' | 'fused' {
  return mode === 'box-evidence' || mode === 'fused'
}

/**
 * Per study: with `study-head`, the mean of its images' study-head probabilities. With
 * `box-majority` (the seed's detection-only rule), p = the mean over its images of their best box
 * confidence; negative gets 1 - p and the three positive classes share p in proportion to their
 * training frequencies (`priors`), so typical, the commonest, ranks first. `combined` averages the
 * two distributions: the boxes say whether a study is positive, the head which kind it is.
 * `box-evidence` and `fused` apply the run's regression (`fusion`) to the study's box features
 * (and head probabilities); every mode answers four probabilities that sum to 1.
 */
export function studyPredictions(
  images: readonly ImagePredictionRecord[],
  mode: StudyFrom,
  priors: StudyPriors = UNIFORM_PRIORS,
  fusion: StudyFusionModels | null = null
): StudyPredictionRecord[] {
  if (needsFusion(mode) && !fusion)
    throw new Error(`study mode ${mode} needs the run's fitted study regressions (study-fusion.json)`)
  const byStudy = new Map<string, ImagePredictionRecord[]>()
  for (const image of images) {
    const group = byStudy.get(image.studyId)
    if (group) group.push(image)
    else byStudy.set(image.studyId, [image])
  }
  return [...byStudy.entries()].map(([studyId, group]) => {
    const fromBoxes = boxMajority(
      group.map((image) => image.boxes[0]?.confidence ?? 0),
      priors
    )
    const fromHead = Object.fromEntries(
      STUDY_CLASSES.map((c) => [c, mean(group.map((image) => image.studyProbs[c]))])
    ) as Record<StudyClass, number>
    if (needsFusion(mode)) {
      const probabilities = softmaxProbabilities(fusion![mode], studyFeatures(group, mode))
      return { studyId, imageIds: group.map((image) => image.imageId), probabilities }
    }
    const probabilities =
      mode === 'box-majority'
        ? fromBoxes
        : mode === 'study-head'
          ? fromHead
          : (Object.fromEntries(STUDY_CLASSES.map((c) => [c, (fromBoxes[c] + fromHead[c]) / 2])) as Record<
              StudyClass,
              number
            >)
    return { studyId, imageIds: group.map((image) => image.imageId), probabilities }
  })
}

/** Submission rows: all four classes on study rows; opacity boxes plus `none` on image rows. */
export function submissionRows(
  images: readonly ImagePredictionRecord[],
  studies: readonly StudyPredictionRecord[]
): SubmissionRow[] {
  const rows: SubmissionRow[] = []
  for (const study of studies) {
    rows.push({
      id: studyRowId(study.studyId),
      detections: STUDY_CLASSES.map((cls) => ({
        cls,
        confidence: clamp01(study.probabilities[cls]),
        x1: 0,
        y1: 0,
        x2: 1,
        y2: 1
      }))
    })
  }
  for (const image of images) {
    rows.push({
      id: imageRowId(image.imageId),
      detections: [
        ...image.boxes.map((b) => ({
          cls: 'opacity' as const,
          confidence: clamp01(b.confidence),
          x1: b.x1,
          y1: b.y1,
          x2: b.x2,
          y2: b.y2
        })),
        { cls: 'none' as const, confidence: clamp01(image.none), x1: 0, y1: 0, x2: 1, y2: 1 }
      ]
    })
  }
  return rows
}

function mean(values: number[]): number {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : 0
}

function clamp01(value: number): number {
  return Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : 0
}
