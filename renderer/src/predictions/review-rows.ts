// The studies list read against the prediction layer: per image what the model said (boxes above
// the threshold, its top opacity score, the study's predicted class) and, where truth exists, how
// it disagrees (true/false positives, misses, a wrong study class). Sorting by disagreement puts
// the misses and false alarms first, the way a second reader wants to go through them.
import type { ImageRow, PredictionTable, StudyClass } from '../../../common/contract'
import { STUDY_CLASSES } from '../../../common/domain'
import { reviewImage } from '../../../common/review'
import { toCorner } from '../viewer/overlay'

export interface RowReview {
  /** The layer has a row for this image. */
  predicted: boolean
  /** Opacity boxes at or above the threshold. */
  shown: number
  /** The highest opacity confidence, whatever the threshold (null: no box). */
  topScore: number | null
  none: number | null
  predictedClass: StudyClass | null
  /** The probability of the predicted class. */
  classProbability: number | null
  /** The image has ground truth (a row in the label files): TP/FP/FN are meaningful. */
  hasTruth: boolean
  tp: number | null
  fp: number | null
  fn: number | null
  /** The predicted study class differs from the study's label (null: either is missing). */
  studyWrong: boolean | null
}

export const REVIEW_SORTS = {
  file: 'file order',
  disagreement: 'misses and false alarms first',
  confidence: 'opacity confidence, highest first',
  'study-confidence': 'study-class confidence, highest first',
  'study-uncertain': 'study-class confidence, lowest first'
} as const
export type ReviewSort = keyof typeof REVIEW_SORTS

export const AGREEMENT_FILTERS = {
  all: 'agreeing or not',
  disagree: 'any disagreement',
  misses: 'with missed boxes',
  'false-alarms': 'with false alarms',
  'study-wrong': 'study class wrong',
  agree: 'agreeing with the truth',
  'no-truth': 'without truth'
} as const
export type AgreementFilter = keyof typeof AGREEMENT_FILTERS

export interface ReviewFilters {
  predictedClass: 'all' | StudyClass
  /** Keep images whose top opacity confidence reaches this (0 keeps all, boxes or not). */
  minConfidence: number
  agreement: AgreementFilter
}

export function defaultReviewFilters(): ReviewFilters {
  return { predictedClass: 'all', minConfidence: 0, agreement: 'all' }
}

/** Argmax of the study probabilities, in STUDY_CLASSES order on ties. */
export function predictedClassOf(
  probabilities: Partial<Record<StudyClass, number>> | null | undefined
): { cls: StudyClass; probability: number } | null {
  if (!probabilities) return null
  let best: { cls: StudyClass; probability: number } | null = null
  for (const cls of STUDY_CLASSES) {
    const p = probabilities[cls]
    if (p === undefined) continue
    if (!best || p > best.probability) best = { cls, probability: p }
  }
  return best
}

/** Every row's review at `threshold`; truth is the row's boxes where the image is labelled. */
export function reviewRows(
  rows: readonly ImageRow[],
  table: PredictionTable,
  threshold: number
): Map<string, RowReview> {
  const images = new Map(table.images.map((image) => [image.imageId, image]))
  const studies = new Map(table.studies.map((study) => [study.studyId, study.probabilities]))
  const out = new Map<string, RowReview>()
  for (const row of rows) {
    const image = images.get(row.imageId)
    const boxes = image?.boxes ?? []
    const predicted = predictedClassOf(studies.get(row.studyId))
    const hasTruth = row.labelled
    let tp: number | null = null
    let fp: number | null = null
    let fn: number | null = null
    if (hasTruth && image) {
      const review = reviewImage(
        row.boxes.map(toCorner),
        boxes.map(([x1, y1, x2, y2, confidence]) => ({ x1, y1, x2, y2, confidence })),
        threshold
      )
      tp = review.truePositives
      fp = review.falsePositives
      fn = review.missed.length
    }
    out.set(row.imageId, {
      predicted: Boolean(image),
      shown: boxes.filter((box) => box[4] >= threshold).length,
      topScore: boxes.length ? Math.max(...boxes.map((box) => box[4])) : null,
      none: image?.none ?? null,
      predictedClass: predicted?.cls ?? null,
      classProbability: predicted?.probability ?? null,
      hasTruth,
      tp,
      fp,
      fn,
      studyWrong: predicted && row.studyLabel ? predicted.cls !== row.studyLabel : null
    })
  }
  return out
}

function keep(review: RowReview | undefined, filters: ReviewFilters): boolean {
  if (filters.predictedClass !== 'all' && review?.predictedClass !== filters.predictedClass) return false
  if (filters.minConfidence > 0 && !((review?.topScore ?? -1) >= filters.minConfidence)) return false
  const errors = (review?.fn ?? 0) + (review?.fp ?? 0)
  const reviewed = review?.tp !== null && review?.tp !== undefined
  switch (filters.agreement) {
    case 'all':
      return true
    case 'disagree':
      return errors > 0 || review?.studyWrong === true
    case 'misses':
      return (review?.fn ?? 0) > 0
    case 'false-alarms':
      return (review?.fp ?? 0) > 0
    case 'study-wrong':
      return review?.studyWrong === true
    case 'agree':
      return reviewed && errors === 0 && review?.studyWrong !== true
    case 'no-truth':
      return !review?.hasTruth
  }
}

/** Higher first; nulls last. */
const desc = (a: number | null | undefined, b: number | null | undefined) =>
  (b ?? -Infinity) - (a ?? -Infinity) || 0

/** Misses and false alarms first (FN + FP at the threshold), then a wrong study class, then misses. */
export function compareDisagreement(a: RowReview | undefined, b: RowReview | undefined): number {
  const errors = (r: RowReview | undefined) => (r?.tp === null || r?.tp === undefined ? null : r.fn! + r.fp!)
  const wrong = (r: RowReview | undefined) => (r?.studyWrong === null || !r ? null : r.studyWrong ? 1 : 0)
  return (
    desc(errors(a), errors(b)) ||
    desc(wrong(a), wrong(b)) ||
    desc(a?.fn, b?.fn) ||
    desc(a?.topScore, b?.topScore)
  )
}

const COMPARE: Record<Exclude<ReviewSort, 'file'>, (a?: RowReview, b?: RowReview) => number> = {
  disagreement: compareDisagreement,
  confidence: (a, b) => desc(a?.topScore, b?.topScore),
  'study-confidence': (a, b) => desc(a?.classProbability, b?.classProbability),
  'study-uncertain': (a, b) =>
    desc(
      a?.classProbability === null || !a ? null : -a.classProbability,
      b?.classProbability === null || !b ? null : -b.classProbability
    )
}

/** The rows the list shows, filtered and (stably) sorted by the review. */
export function orderRows<T extends { imageId: string }>(
  rows: readonly T[],
  reviews: ReadonlyMap<string, RowReview>,
  filters: ReviewFilters,
  sort: ReviewSort
): T[] {
  const kept = rows.filter((row) => keep(reviews.get(row.imageId), filters))
  if (sort === 'file') return kept
  const compare = COMPARE[sort]
  return kept
    .map((row, index) => ({ row, index }))
    .sort((a, b) => compare(reviews.get(a.row.imageId), reviews.get(b.row.imageId)) || a.index - b.index)
    .map(({ row }) => row)
}
