// Study classes from where and how many boxes the detector found, and the study head's view fused
// with them: per study a few box features (how many, how sure, on one side or both, central or
// peripheral, upper or lower, how much area), then a small multinomial logistic regression fitted
// on a run's own labelled images (study-fusion.ts) that answers calibrated probabilities of the four
// classes. Plain numbers, no tfjs: the back end and the scorer import it too.
import { STUDY_CLASSES, type StudyClass } from '../../../common/domain'
import type { ImagePredictionRecord } from './predict-images'

/** What each feature measures; `box` features come from the boxes, `head` from the study head. */
export const BOX_FEATURES = [
  'best score',
  'second score',
  'score sum (top 5)',
  'boxes >= 0.3',
  'both sides (best left x best right)',
  'mean distance from midline',
  'best central (score x (1 - distance))',
  'best peripheral (score x distance)',
  'mean height (0 top, 1 bottom)',
  'scored area'
] as const

export const HEAD_FEATURES = STUDY_CLASSES.map((c) => `head log p(${c})`)

export type EvidenceKind = 'box-evidence' | 'fused'

/** Features of one image, in BOX_FEATURES order; boxes in original pixels, confidence-sorted or not. */
export function imageBoxFeatures(image: ImagePredictionRecord): number[] {
  const boxes = image.boxes
    .map((b) => {
      const cx = (b.x1 + b.x2) / 2 / image.width
      return {
        score: b.confidence,
        cx,
        // 0 on the midline, 1 at the image's left or right edge
        distance: Math.min(1, Math.abs(cx - 0.5) * 2),
        cy: (b.y1 + b.y2) / 2 / image.height,
        area: ((b.x2 - b.x1) * (b.y2 - b.y1)) / (image.width * image.height)
      }
    })
    .sort((a, b) => b.score - a.score)
  const scores = boxes.map((b) => b.score)
  const weight = scores.reduce((a, b) => a + b, 0)
  const weighted = (value: (b: (typeof boxes)[number]) => number, fallback: number) =>
    weight > 1e-6 ? boxes.reduce((sum, b) => sum + b.score * value(b), 0) / weight : fallback
  const bestOn = (left: boolean) =>
    Math.max(0, ...boxes.filter((b) => b.cx < 0.5 === left).map((b) => b.score))
  return [
    scores[0] ?? 0,
    scores[1] ?? 0,
    scores.slice(0, 5).reduce((a, b) => a + b, 0),
    scores.filter((s) => s >= 0.3).length,
    bestOn(true) * bestOn(false),
    weighted((b) => b.distance, 0.5),
    Math.max(0, ...boxes.map((b) => b.score * (1 - b.distance))),
    Math.max(0, ...boxes.map((b) => b.score * b.distance)),
    weighted((b) => b.cy, 0.5),
    boxes.reduce((sum, b) => sum + b.score * b.area, 0)
  ]
}

/** A study's features: the mean over its images (box features, then the head's log-probabilities for `fused`). */
export function studyFeatures(images: readonly ImagePredictionRecord[], kind: EvidenceKind): number[] {
  const perImage = images.map(imageBoxFeatures)
  const features = perImage[0].map((_, k) => mean(perImage.map((f) => f[k])))
  if (kind === 'box-evidence') return features
  const head = STUDY_CLASSES.map((c) => Math.log(Math.max(1e-6, mean(images.map((i) => i.studyProbs[c])))))
  return [...features, ...head]
}

export function featureNames(kind: EvidenceKind): string[] {
  return kind === 'box-evidence' ? [...BOX_FEATURES] : [...BOX_FEATURES, ...HEAD_FEATURES]
}

/** A fitted multinomial logistic regression on standardised features. */
export interface SoftmaxModel {
  features: string[]
  /** Per feature: (x - mean) / std before the weights. */
  mean: number[]
  std: number[]
  /** [class][feature] and [class], classes in STUDY_CLASSES order. */
  weights: number[][]
  bias: number[]
  /** The L2 penalty chosen by cross-validation. */
  l2: number
}

/** Class probabilities (summing to 1) of one feature vector. */
export function softmaxProbabilities(model: SoftmaxModel, x: readonly number[]): Record<StudyClass, number> {
  if (x.length !== model.features.length)
    throw new Error(`study fusion: ${x.length} features for a model of ${model.features.length}`)
  const z = standardise(model, x)
  const logits = model.weights.map((w, k) => model.bias[k] + w.reduce((s, wi, i) => s + wi * z[i], 0))
  const p = softmax(logits)
  return Object.fromEntries(STUDY_CLASSES.map((c, k) => [c, p[k]])) as Record<StudyClass, number>
}

export interface FitReport {
  model: SoftmaxModel
  /** Mean cross-validated log-loss per L2 candidate (the lowest is chosen). */
  crossValidation: Array<{ l2: number; logLoss: number }>
  /** Log-loss of the chosen model on the data it was fitted on. */
  fitLogLoss: number
}

/** L2 penalties tried (per example; features are standardised). */
export const L2_CANDIDATES = [0.001, 0.01, 0.03, 0.1, 0.3, 1]

/**
 * Fits on `rows` (features, class index), choosing the L2 penalty by k-fold cross-validated
 * log-loss (folds by row order interleaved, deterministic).
 */
export function fitSoftmax(
  features: string[],
  rows: Array<{ x: number[]; label: number }>,
  folds = 5
): FitReport {
  if (rows.length < 8) throw new Error(`study fusion needs at least 8 labelled studies; got ${rows.length}`)
  const k = Math.min(folds, rows.length)
  const crossValidation = L2_CANDIDATES.map((l2) => {
    let loss = 0
    for (let f = 0; f < k; f++) {
      const train = rows.filter((_, i) => i % k !== f)
      const held = rows.filter((_, i) => i % k === f)
      const model = fitWithPenalty(features, train, l2)
      loss += held.reduce((s, r) => s - Math.log(Math.max(1e-12, probs(model, r.x)[r.label])), 0)
    }
    return { l2, logLoss: loss / rows.length }
  })
  const best = crossValidation.reduce((a, b) => (b.logLoss < a.logLoss ? b : a))
  const model = fitWithPenalty(features, rows, best.l2)
  const fitLogLoss =
    rows.reduce((s, r) => s - Math.log(Math.max(1e-12, probs(model, r.x)[r.label])), 0) / rows.length
  return { model, crossValidation, fitLogLoss }
}

/**
 * Full-batch gradient descent with momentum on the mean log-loss + l2/2 |W|^2 (convex; the features
 * are standardised, so one step size suits every run). Flat typed arrays: the fit runs 31 times per mode.
 */
function fitWithPenalty(
  features: string[],
  rows: Array<{ x: number[]; label: number }>,
  l2: number
): SoftmaxModel {
  const d = features.length
  const classes = STUDY_CLASSES.length
  const n = rows.length
  const m = Array.from({ length: d }, (_, i) => mean(rows.map((r) => r.x[i])))
  const s = Array.from({ length: d }, (_, i) => {
    const sd = Math.sqrt(mean(rows.map((r) => (r.x[i] - m[i]) ** 2)))
    return sd > 1e-9 ? sd : 1
  })
  const z = new Float64Array(n * d)
  rows.forEach((r, row) => {
    for (let i = 0; i < d; i++) z[row * d + i] = (r.x[i] - m[i]) / s[i]
  })
  // weights [class][feature], then the bias as feature d
  const width = d + 1
  const w = new Float64Array(classes * width)
  const velocity = new Float64Array(classes * width)
  const grad = new Float64Array(classes * width)
  const logits = new Float64Array(classes)
  const rate = 0.5
  const momentum = 0.9
  for (let step = 0; step < 400; step++) {
    grad.fill(0)
    for (let row = 0; row < n; row++) {
      let top = -Infinity
      for (let c = 0; c < classes; c++) {
        let v = w[c * width + d]
        for (let i = 0; i < d; i++) v += w[c * width + i] * z[row * d + i]
        logits[c] = v
        if (v > top) top = v
      }
      let total = 0
      for (let c = 0; c < classes; c++) total += logits[c] = Math.exp(logits[c] - top)
      for (let c = 0; c < classes; c++) {
        const err = (logits[c] / total - (rows[row].label === c ? 1 : 0)) / n
        for (let i = 0; i < d; i++) grad[c * width + i] += err * z[row * d + i]
        grad[c * width + d] += err
      }
    }
    for (let k = 0; k < w.length; k++) {
      const penalty = k % width === d ? 0 : l2 * w[k]
      velocity[k] = momentum * velocity[k] - rate * (grad[k] + penalty)
      w[k] += velocity[k]
    }
  }
  return {
    features,
    mean: m,
    std: s,
    weights: Array.from({ length: classes }, (_, c) => Array.from(w.subarray(c * width, c * width + d))),
    bias: Array.from({ length: classes }, (_, c) => w[c * width + d]),
    l2
  }
}

function probs(model: SoftmaxModel, x: readonly number[]): number[] {
  const p = softmaxProbabilities(model, x)
  return STUDY_CLASSES.map((c) => p[c])
}

function standardise(model: SoftmaxModel, x: readonly number[]): number[] {
  return x.map((v, i) => (v - model.mean[i]) / model.std[i])
}

function softmax(logits: number[]): number[] {
  const top = Math.max(...logits)
  const e = logits.map((l) => Math.exp(l - top))
  const total = e.reduce((a, b) => a + b, 0)
  return e.map((v) => v / total)
}

function mean(values: number[]): number {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : 0
}

/** Multi-class log-loss and expected calibration error (10 confidence bins of the top class). */
export function calibration(
  studies: ReadonlyArray<{ probabilities: Record<StudyClass, number>; label: number }>
): { logLoss: number; ece: number } {
  if (studies.length === 0) return { logLoss: Number.NaN, ece: Number.NaN }
  let logLoss = 0
  const bins = Array.from({ length: 10 }, () => ({ count: 0, confidence: 0, correct: 0 }))
  for (const s of studies) {
    const p = STUDY_CLASSES.map((c) => s.probabilities[c])
    logLoss -= Math.log(Math.max(1e-12, p[s.label]))
    const top = p.indexOf(Math.max(...p))
    const bin = bins[Math.min(9, Math.floor(p[top] * 10))]
    bin.count++
    bin.confidence += p[top]
    bin.correct += top === s.label ? 1 : 0
  }
  const ece =
    bins.reduce((sum, b) => sum + (b.count ? Math.abs(b.confidence - b.correct) : 0), 0) / studies.length
  return { logLoss: logLoss / studies.length, ece }
}
