// Box geometry in model-input pixels. A box is [x1, y1, x2, y2]; arrays of boxes are flat
// Float32Arrays (4 numbers per box) so targets for thousands of anchors stay cheap.

export type Box = [x1: number, y1: number, x2: number, y2: number]

/** Detections for one image, sorted by descending score. Labels index the detector's classes. */
export interface Detections {
  boxes: Box[]
  scores: number[]
  labels: number[]
}

export function area(box: ArrayLike<number>, offset = 0): number {
  return Math.max(0, box[offset + 2] - box[offset]) * Math.max(0, box[offset + 3] - box[offset + 1])
}

/** IoU of box i in `a` (flat, offset 4i) and box j in `b`. */
export function iouAt(a: ArrayLike<number>, i: number, b: ArrayLike<number>, j: number): number {
  const ai = 4 * i
  const bj = 4 * j
  const w = Math.min(a[ai + 2], b[bj + 2]) - Math.max(a[ai], b[bj])
  const h = Math.min(a[ai + 3], b[bj + 3]) - Math.max(a[ai + 1], b[bj + 1])
  if (w <= 0 || h <= 0) return 0
  const inter = w * h
  return inter / (area(a, ai) + area(b, bj) - inter)
}

export function iou(a: Box, b: Box): number {
  return iouAt(a, 0, b, 0)
}

export function flatBoxes(boxes: ArrayLike<ArrayLike<number>>): Float32Array {
  const out = new Float32Array(boxes.length * 4)
  for (let i = 0; i < boxes.length; i++) for (let k = 0; k < 4; k++) out[4 * i + k] = boxes[i][k]
  return out
}

/** Mirrors boxes about the vertical centre line of an image `width` pixels wide (for flip TTA). */
export function flipBoxesHorizontally(boxes: Box[], width: number): Box[] {
  return boxes.map(([x1, y1, x2, y2]) => [width - x2, y1, width - x1, y2])
}

export function clipBox(box: Box, size: number): Box {
  const clip = (v: number) => Math.min(size, Math.max(0, v))
  return [clip(box[0]), clip(box[1]), clip(box[2]), clip(box[3])]
}
