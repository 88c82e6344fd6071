// A second reader's view of one image: which predicted boxes find a truth box (true positives),
// which find none (false positives) and which truth boxes no prediction found (misses), at IoU > 0.5
// as the competition scores it. Pure math: the viewer recomputes it as the score threshold moves.

/** A box in corner form, in whatever frame both sides share (original pixels, or 0 0 1 1 for whole images). */
export interface CornerBox {
  x1: number
  y1: number
  x2: number
  y2: number
}

/** Strictly greater: a detection overlapping a ground-truth box at exactly IoU 0.5 does not match. */
export const IOU_THRESHOLD = 0.5

/** Continuous intersection-over-union (no VOC "+1 pixel": coordinates are real-valued here). */
export function iou(a: CornerBox, b: CornerBox): number {
  const iw = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1)
  const ih = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1)
  if (iw <= 0 || ih <= 0) return 0
  const intersection = iw * ih
  const areaA = Math.max(0, a.x2 - a.x1) * Math.max(0, a.y2 - a.y1)
  const areaB = Math.max(0, b.x2 - b.x1) * Math.max(0, b.y2 - b.y1)
  const union = areaA + areaB - intersection
  return union > 0 ? intersection / union : 0
}

export interface ScoredBox extends CornerBox {
  confidence: number
}

export interface ImageReview {
  /** Per prediction at or above the threshold, in the order given: the truth box it matched, or -1. */
  matches: number[]
  /** Indices of the predictions at or above the threshold. */
  shown: number[]
  truePositives: number
  falsePositives: number
  /** Indices of the truth boxes no shown prediction matched. */
  missed: number[]
}

/**
 * The competition's greedy matching on one image: predictions at or above `threshold`, highest
 * confidence first (ties keep their order), each takes the unmatched truth box of highest IoU > 0.5.
 */
export function reviewImage(
  truth: readonly CornerBox[],
  predictions: readonly ScoredBox[],
  threshold = 0
): ImageReview {
  const shown = predictions.map((_, i) => i).filter((i) => predictions[i].confidence >= threshold)
  const ranked = [...shown].sort((a, b) => predictions[b].confidence - predictions[a].confidence || a - b)
  const used = truth.map(() => false)
  const matchOf = new Map<number, number>()
  for (const i of ranked) {
    let best = -1
    let bestIou = IOU_THRESHOLD
    truth.forEach((box, j) => {
      if (used[j]) return
      const overlap = iou(predictions[i], box)
      if (overlap > bestIou) {
        bestIou = overlap
        best = j
      }
    })
    if (best >= 0) used[best] = true
    matchOf.set(i, best)
  }
  const matches = shown.map((i) => matchOf.get(i) ?? -1)
  const truePositives = matches.filter((m) => m >= 0).length
  return {
    matches,
    shown,
    truePositives,
    falsePositives: shown.length - truePositives,
    missed: truth.map((_, j) => j).filter((j) => !used[j])
  }
}
