// What the viewer draws for the prediction layer on one image. Where the image has ground truth,
// each predicted opacity box is a true or false positive and each truth box no prediction found is
// a miss, matched as the competition scores (IoU > 0.5, highest confidence first); without truth the
// boxes are drawn plain. The legend's counts come from the same function, so they always agree.
import type { OpacityBox, Prediction } from '../../../common/contract'
import { reviewImage, type CornerBox } from '../../../common/review'
import { PREDICTION_COLOR, REVIEW_COLORS } from '../classes'

export type ReviewMark = 'tp' | 'fp' | 'fn' | 'plain'

export interface OverlayShape extends OpacityBox {
  mark: ReviewMark
  color: string
  text: string
  /** Dash pattern in screen pixels; empty for a solid line. */
  dash: number[]
  /** Labelled under the box: truth labels sit above theirs, and a missed box is a truth box. */
  labelBelow: boolean
}

export interface ReviewCounts {
  tp: number
  fp: number
  fn: number
}

export interface PredictionOverlay {
  shapes: OverlayShape[]
  /** Null when the image has no truth to review against. */
  counts: ReviewCounts | null
}

const MARK_TEXT: Record<ReviewMark, string> = { tp: 'TP', fp: 'FP', fn: 'missed', plain: '' }
const MARK_DASH: Record<ReviewMark, number[]> = { tp: [8, 5], fp: [8, 5], fn: [3, 3], plain: [8, 5] }

export function toCorner(box: OpacityBox): CornerBox {
  return { x1: box.x, y1: box.y, x2: box.x + box.width, y2: box.y + box.height }
}

/**
 * The opacity predictions at or above `threshold`, marked against `truth` (null: the image has no
 * truth, e.g. a test image without truth files), plus the truth boxes missed.
 */
export function predictionOverlay(
  predictions: readonly Prediction[],
  threshold: number,
  truth: readonly OpacityBox[] | null
): PredictionOverlay {
  const opacity = predictions.filter((p) => p.label === 'opacity')
  if (!truth) {
    const shapes = opacity.filter((p) => p.score >= threshold).map((p) => shape(p, 'plain', p.score))
    return { shapes, counts: null }
  }
  const review = reviewImage(
    truth.map(toCorner),
    opacity.map((p) => ({ ...toCorner(p), confidence: p.score })),
    threshold
  )
  const shapes = review.shown.map((i, k) =>
    shape(opacity[i], review.matches[k] >= 0 ? 'tp' : 'fp', opacity[i].score)
  )
  for (const j of review.missed) shapes.push(shape(truth[j], 'fn', null))
  return {
    shapes,
    counts: { tp: review.truePositives, fp: review.falsePositives, fn: review.missed.length }
  }
}

function shape(box: OpacityBox, mark: ReviewMark, score: number | null): OverlayShape {
  const color = mark === 'plain' ? PREDICTION_COLOR : REVIEW_COLORS[mark]
  const label = score === null ? 'opacity' : `opacity ${score.toFixed(2)}`
  const text = mark === 'plain' ? label : `${label} · ${MARK_TEXT[mark]}`
  return {
    x: box.x,
    y: box.y,
    width: box.width,
    height: box.height,
    mark,
    color,
    text,
    dash: MARK_DASH[mark],
    labelBelow: true
  }
}
