// Anchor box coding (Faster R-CNN / EfficientDet): centre offsets in anchor units and log size
// ratios, (dx, dy, dw, dh). JS versions build targets and decode candidates; the tfjs version
// decodes inside the graph for IoU-based losses.
import * as tf from '@tensorflow/tfjs-core'

/** Largest log-scale a decoded box may take, so an untrained head cannot overflow exp(). */
export const MAX_LOG_SCALE = Math.log(1000 / 16)

/** Encodes box `j` of `boxes` relative to anchor `i` of `anchors` into out[o..o+3]. */
export function encodeBox(
  anchors: ArrayLike<number>,
  i: number,
  boxes: ArrayLike<number>,
  j: number,
  out: Float32Array,
  o: number
): void {
  const [acx, acy, aw, ah] = centreSize(anchors, i)
  const [cx, cy, w, h] = centreSize(boxes, j)
  out[o] = (cx - acx) / aw
  out[o + 1] = (cy - acy) / ah
  out[o + 2] = Math.log(Math.max(w, 1e-3) / aw)
  out[o + 3] = Math.log(Math.max(h, 1e-3) / ah)
}

/** Decodes deltas `d` (at d[o..o+3]) against anchor `i` into [x1, y1, x2, y2]. */
export function decodeBox(
  anchors: ArrayLike<number>,
  i: number,
  d: ArrayLike<number>,
  o: number
): [number, number, number, number] {
  const [acx, acy, aw, ah] = centreSize(anchors, i)
  const cx = acx + d[o] * aw
  const cy = acy + d[o + 1] * ah
  const w = aw * Math.exp(Math.min(d[o + 2], MAX_LOG_SCALE))
  const h = ah * Math.exp(Math.min(d[o + 3], MAX_LOG_SCALE))
  return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]
}

function centreSize(b: ArrayLike<number>, i: number): [number, number, number, number] {
  const o = 4 * i
  const w = b[o + 2] - b[o]
  const h = b[o + 3] - b[o + 1]
  return [b[o] + w / 2, b[o + 1] + h / 2, w, h]
}

/** Graph version of decodeBox: deltas [..., N, 4] against anchors [N, 4] -> boxes [..., N, 4]. */
export function decodeBoxesTf(deltas: tf.Tensor, anchors: tf.Tensor2D): tf.Tensor {
  const [ax1, ay1, ax2, ay2] = tf.split(anchors, 4, 1)
  const aw = tf.sub(ax2, ax1)
  const ah = tf.sub(ay2, ay1)
  const acx = tf.add(ax1, tf.mul(aw, 0.5))
  const acy = tf.add(ay1, tf.mul(ah, 0.5))
  const [dx, dy, dw, dh] = tf.split(deltas, 4, -1)
  const cx = tf.add(acx, tf.mul(dx, aw))
  const cy = tf.add(acy, tf.mul(dy, ah))
  const halfW = tf.mul(tf.mul(aw, tf.exp(tf.minimum(dw, MAX_LOG_SCALE))), 0.5)
  const halfH = tf.mul(tf.mul(ah, tf.exp(tf.minimum(dh, MAX_LOG_SCALE))), 0.5)
  return tf.concat([tf.sub(cx, halfW), tf.sub(cy, halfH), tf.add(cx, halfW), tf.add(cy, halfH)], -1)
}
