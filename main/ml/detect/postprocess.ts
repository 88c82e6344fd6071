// Merging overlapping detections: class-wise greedy NMS, and weighted box fusion (Solovyev et al.
// 2021), which averages clustered boxes instead of dropping them; WBF suits TTA and ensembles.
import { iou, type Box, type Detections } from './boxes'

export interface NmsOptions {
  /** Boxes of the same class overlapping a kept box by more than this are dropped. */
  iouThreshold: number
  maxDetections: number
}

/** Class-wise greedy non-maximum suppression; the result is sorted by descending score. */
export function nonMaxSuppression(detections: Detections, options: NmsOptions): Detections {
  const order = sortedIndices(detections.scores)
  const kept: number[] = []
  for (const i of order) {
    if (kept.length >= options.maxDetections) break
    const suppressed = kept.some(
      (k) =>
        detections.labels[k] === detections.labels[i] &&
        iou(detections.boxes[k], detections.boxes[i]) > options.iouThreshold
    )
    if (!suppressed) kept.push(i)
  }
  return pick(detections, kept)
}

export interface WbfOptions {
  /** A box joins a cluster whose fused box it overlaps by more than this (same class). */
  iouThreshold: number
  maxDetections: number
  /** Boxes scoring below this (before weighting) are ignored. */
  skipThreshold?: number
  /** One weight per set (model), all 1 when absent: how much a model's boxes count. */
  weights?: readonly number[]
  /**
   * A fused box takes at most one box of each set (ensembles: a model's boxes were already separated
   * by its own NMS; fusing two of them would let one model count twice). ensemble-boxes has no such
   * rule; TTA merging keeps its behaviour (false).
   */
  onePerSet?: boolean
}

/**
 * Weighted box fusion over the detections of `sets.length` models (or TTA views) of one image, with
 * the semantics of ZFTurbo's ensemble-boxes `weighted_boxes_fusion(conf_type='avg')` (Solovyev et al.):
 * each score is multiplied by its model's weight; boxes are taken by descending weighted score and
 * join the same-class cluster whose running fused box they overlap most (IoU > iouThreshold), else
 * start one; a fused box is the weighted-score-weighted mean of its cluster, scored
 * mean(weighted scores) × min(cluster size, models) / sum(weights). So two models agreeing keep the
 * score, a box only one of two equal models found keeps half of it, and with weights 2 and 1 the
 * first model's lone box keeps 2/3, the second's 1/3. With `onePerSet`, a box only joins a cluster
 * holding no box of its set yet (so an ensemble of a model with itself returns its boxes exactly).
 */
export function weightedBoxesFusion(sets: Detections[], options: WbfOptions): Detections {
  const models = sets.length
  const weights = options.weights ?? sets.map(() => 1)
  if (weights.length !== models)
    throw new Error(`weighted box fusion: ${weights.length} weight(s) for ${models} model(s)`)
  if (weights.some((w) => !(w > 0) || !Number.isFinite(w)))
    throw new Error(`weighted box fusion: weights must be positive numbers (got ${weights.join(', ')})`)
  const weightSum = weights.reduce((a, b) => a + b, 0)
  const all = sets.flatMap((set, model) =>
    set.scores
      .map((score, i) => ({
        box: set.boxes[i],
        score: score * weights[model],
        label: set.labels[i],
        raw: score,
        model
      }))
      .filter((d) => d.raw >= (options.skipThreshold ?? 0))
  )
  all.sort((a, b) => b.score - a.score)
  const clusters: Array<{ label: number; members: typeof all; fused: Box }> = []
  for (const detection of all) {
    let best = -1
    let bestIou = options.iouThreshold
    clusters.forEach((cluster, c) => {
      if (cluster.label !== detection.label) return
      if (options.onePerSet && cluster.members.some((m) => m.model === detection.model)) return
      const overlap = iou(cluster.fused, detection.box)
      if (overlap > bestIou) {
        bestIou = overlap
        best = c
      }
    })
    if (best < 0) {
      clusters.push({ label: detection.label, members: [detection], fused: [...detection.box] })
    } else {
      clusters[best].members.push(detection)
      clusters[best].fused = weightedMean(clusters[best].members)
    }
  }
  const fused: Detections = { boxes: [], scores: [], labels: [] }
  for (const cluster of clusters) {
    const meanScore = cluster.members.reduce((s, m) => s + m.score, 0) / cluster.members.length
    fused.boxes.push(cluster.fused)
    fused.scores.push((meanScore * Math.min(cluster.members.length, models)) / weightSum)
    fused.labels.push(cluster.label)
  }
  return pick(fused, sortedIndices(fused.scores).slice(0, options.maxDetections))
}

export type MergeMode = 'nms' | 'wbf'

/** Merges the detections of several views of one image (e.g. original + un-flipped flip). */
export function mergeDetections(sets: Detections[], mode: MergeMode, options: NmsOptions): Detections {
  if (mode === 'wbf') return weightedBoxesFusion(sets, options)
  return nonMaxSuppression(concatDetections(sets), options)
}

export function concatDetections(sets: Detections[]): Detections {
  return {
    boxes: sets.flatMap((s) => s.boxes),
    scores: sets.flatMap((s) => s.scores),
    labels: sets.flatMap((s) => s.labels)
  }
}

function weightedMean(members: Array<{ box: Box; score: number }>): Box {
  const total = members.reduce((s, m) => s + m.score, 0)
  const out: Box = [0, 0, 0, 0]
  // all scores 0 (a skip threshold of 0 lets them in): the plain mean
  for (const m of members)
    for (let k = 0; k < 4; k++) out[k] += total > 0 ? (m.box[k] * m.score) / total : m.box[k] / members.length
  return out
}

function sortedIndices(scores: number[]): number[] {
  return scores.map((_, i) => i).sort((a, b) => scores[b] - scores[a])
}

function pick(detections: Detections, indices: number[]): Detections {
  return {
    boxes: indices.map((i) => detections.boxes[i]),
    scores: indices.map((i) => detections.scores[i]),
    labels: indices.map((i) => detections.labels[i])
  }
}
