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
  /** Boxes scoring below this are ignored. */
  skipThreshold?: number
}

/**
 * Weighted box fusion over the detections of `sets.length` models (or TTA views) of one image:
 * clusters same-class boxes by IoU against the running fused box; a fused box is the
 * score-weighted mean of its cluster, scored by the mean score times min(cluster size, models) / models,
 * so a box that only one of two views found keeps half its confidence.
 */
export function weightedBoxesFusion(sets: Detections[], options: WbfOptions): Detections {
  const models = sets.length
  const all = sets.flatMap((set) =>
    set.scores
      .map((score, i) => ({ box: set.boxes[i], score, label: set.labels[i] }))
      .filter((d) => d.score >= (options.skipThreshold ?? 0))
  )
  all.sort((a, b) => b.score - a.score)
  const clusters: Array<{ label: number; members: typeof all; fused: Box }> = []
  for (const detection of all) {
    let best = -1
    let bestIou = options.iouThreshold
    clusters.forEach((cluster, c) => {
      if (cluster.label !== detection.label) return
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
    fused.scores.push((meanScore * Math.min(cluster.members.length, models)) / models)
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
  for (const m of members) for (let k = 0; k < 4; k++) out[k] += (m.box[k] * m.score) / total
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
