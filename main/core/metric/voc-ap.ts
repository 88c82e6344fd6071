// PASCAL VOC 2010 average precision for one class: greedy matching at IoU > 0.5, then the area under
// the all-point interpolated precision envelope.

import { IOU_THRESHOLD, iou, type CornerBox } from '../../../common/review'

export { IOU_THRESHOLD, iou, type CornerBox } from '../../../common/review'

/** One detection of the class being scored, tagged with the row id (study or image) it belongs to. */
export interface RankedDetection extends CornerBox {
  id: string
  confidence: number
}

/** Precision and recall after each detection, in ranking order (for PR-curve plots). */
export interface PrCurve {
  confidence: number[]
  precision: number[]
  recall: number[]
}

export interface ClassResult {
  /** null when the class has no ground truth: AP is undefined and left out of the means. */
  ap: number | null
  groundTruth: number
  detections: number
  truePositives: number
  falsePositives: number
  curve: PrCurve
}

/**
 * Scores one class. Detections are ranked by confidence, highest first; the sort is stable, so equal
 * confidences keep the order they were given in (submission row order, then order within the row).
 * Each detection takes the not-yet-matched ground-truth box of its id with the highest IoU, if that
 * IoU is > 0.5 (true positive); otherwise it is a false positive, so duplicates of a matched box count
 * against precision.
 */
export function scoreClass(
  truthById: ReadonlyMap<string, readonly CornerBox[]>,
  detections: readonly RankedDetection[]
): ClassResult {
  let groundTruth = 0
  for (const boxes of truthById.values()) groundTruth += boxes.length
  const ranked = detections
    .map((d, order) => ({ d, order }))
    .sort((a, b) => b.d.confidence - a.d.confidence || a.order - b.order)

  const matched = new Map<string, boolean[]>()
  const curve: PrCurve = { confidence: [], precision: [], recall: [] }
  let tp = 0
  let fp = 0
  for (const { d } of ranked) {
    const boxes = truthById.get(d.id) ?? []
    let used = matched.get(d.id)
    if (!used) matched.set(d.id, (used = boxes.map(() => false)))
    let best = -1
    let bestIou = IOU_THRESHOLD
    boxes.forEach((box, j) => {
      if (used[j]) return
      const overlap = iou(d, box)
      if (overlap > bestIou) {
        bestIou = overlap
        best = j
      }
    })
    if (best >= 0) {
      used[best] = true
      tp++
    } else {
      fp++
    }
    curve.confidence.push(d.confidence)
    curve.precision.push(tp / (tp + fp))
    curve.recall.push(groundTruth > 0 ? tp / groundTruth : 0)
  }
  return {
    ap: groundTruth > 0 ? envelopeArea(curve.recall, curve.precision) : null,
    groundTruth,
    detections: detections.length,
    truePositives: tp,
    falsePositives: fp,
    curve
  }
}

/** VOC 2010+ AP: make precision monotone from the right, then sum it over every recall step. */
export function envelopeArea(recall: readonly number[], precision: readonly number[]): number {
  const r = [0, ...recall, 1]
  const p = [0, ...precision, 0]
  for (let i = p.length - 2; i >= 0; i--) p[i] = Math.max(p[i], p[i + 1])
  let area = 0
  for (let i = 1; i < r.length; i++) if (r[i] !== r[i - 1]) area += (r[i] - r[i - 1]) * p[i]
  return area
}
