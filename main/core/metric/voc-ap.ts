// PASCAL VOC 2010 average precision for one class: greedy matching at IoU > 0.5, then the area under
// the all-point interpolated precision envelope.

/** A box in corner form, in whatever frame both sides share (pixels, or 0 0 1 1 for whole images). */
export interface CornerBox {
  x1: number
  y1: number
  x2: number
  y2: number
}

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
