// Detection and classification losses. Each returns an un-normalised sum (or a mean where the
// docs say so); the heads divide by the number of positives across the batch.
import * as tf from '@tensorflow/tfjs-core'

/** Numerically stable binary cross-entropy on logits, elementwise. */
export function sigmoidCrossEntropy(logits: tf.Tensor, targets: tf.Tensor): tf.Tensor {
  // max(x, 0) - x * t + log(1 + exp(-|x|))
  return tf.add(tf.sub(tf.relu(logits), tf.mul(logits, targets)), tf.log1p(tf.exp(tf.neg(tf.abs(logits)))))
}

/**
 * Focal loss (Lin et al. 2017) summed over elements: alpha_t * (1 - p_t)^gamma * BCE. `weights`
 * broadcasts against the logits and zeroes ignored anchors.
 */
export function focalLossSum(
  logits: tf.Tensor,
  targets: tf.Tensor,
  weights: tf.Tensor,
  alpha: number,
  gamma: number
): tf.Scalar {
  const p = tf.sigmoid(logits)
  const pT = tf.add(tf.mul(targets, p), tf.mul(tf.sub(1, targets), tf.sub(1, p)))
  const alphaT = tf.add(tf.mul(targets, alpha), tf.mul(tf.sub(1, targets), 1 - alpha))
  // clip: pow() of an exact 0 base has an undefined gradient for non-integer gamma
  const modulator = tf.pow(tf.clipByValue(tf.sub(1, pT), 1e-6, 1), gamma)
  return tf.sum(tf.mul(tf.mul(tf.mul(alphaT, modulator), sigmoidCrossEntropy(logits, targets)), weights))
}

/** Huber (smooth-L1) loss summed over elements where `weights` (broadcast) is non-zero. */
export function huberLossSum(
  predictions: tf.Tensor,
  targets: tf.Tensor,
  weights: tf.Tensor,
  delta: number
): tf.Scalar {
  const error = tf.abs(tf.sub(predictions, targets))
  const quadratic = tf.minimum(error, delta)
  const linear = tf.sub(error, quadratic)
  return tf.sum(tf.mul(tf.add(tf.mul(tf.square(quadratic), 0.5), tf.mul(linear, delta)), weights))
}

/** Generalised IoU loss (1 - GIoU) per box for [..., 4] x1 y1 x2 y2 tensors -> [...]. */
export function giouLoss(predicted: tf.Tensor, target: tf.Tensor): tf.Tensor {
  const [px1, py1, px2, py2] = tf.split(predicted, 4, -1)
  const [tx1, ty1, tx2, ty2] = tf.split(target, 4, -1)
  const predictedArea = tf.mul(tf.relu(tf.sub(px2, px1)), tf.relu(tf.sub(py2, py1)))
  const targetArea = tf.mul(tf.sub(tx2, tx1), tf.sub(ty2, ty1))
  const interW = tf.relu(tf.sub(tf.minimum(px2, tx2), tf.maximum(px1, tx1)))
  const interH = tf.relu(tf.sub(tf.minimum(py2, ty2), tf.maximum(py1, ty1)))
  const inter = tf.mul(interW, interH)
  const union = tf.add(tf.sub(tf.add(predictedArea, targetArea), inter), 1e-7)
  const hullW = tf.sub(tf.maximum(px2, tx2), tf.minimum(px1, tx1))
  const hullH = tf.sub(tf.maximum(py2, ty2), tf.minimum(py1, ty1))
  const hull = tf.add(tf.mul(hullW, hullH), 1e-7)
  const giou = tf.sub(tf.div(inter, union), tf.div(tf.sub(hull, union), hull))
  return tf.squeeze(tf.sub(1, giou), [-1])
}

/**
 * GIoU loss for FCOS distances: both boxes are (l, t, r, b) around the same point, so
 * intersection and hull come from elementwise min/max. [..., 4] -> [...].
 */
export function giouLossLtrb(predicted: tf.Tensor, target: tf.Tensor): tf.Tensor {
  const [pl, pt, pr, pb] = tf.split(predicted, 4, -1)
  const [tl, tt, tr, tb] = tf.split(target, 4, -1)
  const predictedArea = tf.mul(tf.add(pl, pr), tf.add(pt, pb))
  const targetArea = tf.mul(tf.add(tl, tr), tf.add(tt, tb))
  const inter = tf.mul(
    tf.add(tf.minimum(pl, tl), tf.minimum(pr, tr)),
    tf.add(tf.minimum(pt, tt), tf.minimum(pb, tb))
  )
  const union = tf.add(tf.sub(tf.add(predictedArea, targetArea), inter), 1e-7)
  const hull = tf.add(
    tf.mul(tf.add(tf.maximum(pl, tl), tf.maximum(pr, tr)), tf.add(tf.maximum(pt, tt), tf.maximum(pb, tb))),
    1e-7
  )
  const giou = tf.sub(tf.div(inter, union), tf.div(tf.sub(hull, union), hull))
  return tf.squeeze(tf.sub(1, giou), [-1])
}

/**
 * Softmax cross-entropy averaged over rows whose mask is 1 (or summed and divided by `count`, the
 * rows that count in the whole batch when this is part of it); 0 when no row counts.
 */
export function maskedSoftmaxCrossEntropy(
  logits: tf.Tensor2D,
  oneHot: tf.Tensor2D,
  mask: tf.Tensor1D,
  count?: number
): tf.Scalar {
  const perRow = tf.neg(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), -1))
  const rows = count === undefined ? tf.maximum(tf.sum(mask), 1) : Math.max(count, 1)
  return tf.div(tf.sum(tf.mul(perRow, mask)), rows) as tf.Scalar
}
