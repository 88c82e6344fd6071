// Study-level probabilities from image predictions, and the Kaggle rows both levels become.
import { STUDY_CLASSES, type StudyClass } from '../../../common/domain'
import { imageRowId, studyRowId } from '../../core/metric/truth'
import type { SubmissionRow } from '../../core/submission/submission-csv'
import { boxMajority, UNIFORM_PRIORS, type StudyPriors } from '../../core/submission/study-rule'
import type { ImagePredictionRecord, PredictionSettings } from './predict-images'

export interface StudyPredictionRecord {
  studyId: string
  imageIds: string[]
  probabilities: Record<StudyClass, number>
}

export { UNIFORM_PRIORS, type StudyPriors } from '../../core/submission/study-rule'

/**
 * Per study: with `study-head`, the mean of its images' study-head probabilities. With
 * `box-majority` (the seed's detection-only rule), p = the mean over its images of their best box
 * confidence; negative gets 1 - p and the three positive classes share p in proportion to their
 * training frequencies (`priors`), so typical, the commonest, ranks first. `combined` averages the
 * two distributions: the boxes say whether a study is positive, the head which kind it is.
 */
export function studyPredictions(
  images: readonly ImagePredictionRecord[],
  mode: PredictionSettings['studyFrom'],
  priors: StudyPriors = UNIFORM_PRIORS
): StudyPredictionRecord[] {
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
