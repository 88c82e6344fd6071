// IoU-based target assignment for anchor heads (RetinaNet/EfficientDet rules): IoU >= 0.5 is a
// positive, < 0.4 background, in between ignored; each box also claims its best anchor so a box
// of an unusual shape is never left without a positive.
import type { AnchorSet } from './anchors'
import { encodeBox } from './box-coding'
import { iouAt } from './boxes'

export const BACKGROUND = -1
export const IGNORED = -2

export interface AnchorMatchOptions {
  positiveIou: number
  negativeIou: number
}

export const DEFAULT_ANCHOR_MATCH: AnchorMatchOptions = { positiveIou: 0.5, negativeIou: 0.4 }

/** Per anchor: the index of its ground-truth box, BACKGROUND or IGNORED. `gtBoxes` is flat [M*4]. */
export function matchAnchors(
  anchors: AnchorSet,
  gtBoxes: Float32Array,
  options = DEFAULT_ANCHOR_MATCH
): Int32Array {
  const matches = new Int32Array(anchors.count).fill(BACKGROUND)
  const gtCount = gtBoxes.length / 4
  if (gtCount === 0) return matches
  const bestIouOfGt = new Float32Array(gtCount)
  const bestIouOfAnchor = new Float32Array(anchors.count)
  for (let i = 0; i < anchors.count; i++) {
    let best = 0
    let bestGt = -1
    for (let j = 0; j < gtCount; j++) {
      const overlap = iouAt(anchors.boxes, i, gtBoxes, j)
      if (overlap > best) {
        best = overlap
        bestGt = j
      }
      if (overlap > bestIouOfGt[j]) bestIouOfGt[j] = overlap
    }
    bestIouOfAnchor[i] = best
    if (best >= options.positiveIou) matches[i] = bestGt
    else if (best >= options.negativeIou) matches[i] = IGNORED
  }
  // Low-quality matches: every anchor tied for a box's best IoU becomes a positive for that box.
  for (let j = 0; j < gtCount; j++) {
    if (bestIouOfGt[j] <= 0) continue
    for (let i = 0; i < anchors.count; i++) {
      if (iouAt(anchors.boxes, i, gtBoxes, j) >= bestIouOfGt[j] - 1e-6 && matches[i] < 0) matches[i] = j
    }
  }
  return matches
}

export interface AnchorTargets {
  /** One-hot class targets [N * numClasses]. */
  classes: Float32Array
  /** 1 where the classification loss counts (positives and background), 0 for ignored anchors. */
  classWeights: Float32Array
  /** Encoded (dx, dy, dw, dh) targets [N * 4], zero where not positive. */
  deltas: Float32Array
  /** Ground-truth boxes [N * 4] of positive anchors (for IoU losses), zero elsewhere. */
  boxes: Float32Array
  /** 1 for positive anchors. */
  positives: Float32Array
  positiveCount: number
}

export function anchorTargets(
  anchors: AnchorSet,
  gtBoxes: Float32Array,
  gtLabels: ArrayLike<number>,
  numClasses: number,
  matches: Int32Array
): AnchorTargets {
  const n = anchors.count
  const targets: AnchorTargets = {
    classes: new Float32Array(n * numClasses),
    classWeights: new Float32Array(n),
    deltas: new Float32Array(n * 4),
    boxes: new Float32Array(n * 4),
    positives: new Float32Array(n),
    positiveCount: 0
  }
  for (let i = 0; i < n; i++) {
    const j = matches[i]
    if (j === IGNORED) continue
    targets.classWeights[i] = 1
    if (j < 0) continue
    targets.classes[i * numClasses + gtLabels[j]] = 1
    targets.positives[i] = 1
    targets.positiveCount++
    encodeBox(anchors.boxes, i, gtBoxes, j, targets.deltas, 4 * i)
    targets.boxes.set(gtBoxes.subarray(4 * j, 4 * j + 4), 4 * i)
  }
  return targets
}
