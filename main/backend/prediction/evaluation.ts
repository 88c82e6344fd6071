// The Evaluation view's figures for a stored prediction: the competition metric (scored by the code
// `cxr-studio evaluate` and `score` use), the metric at a confidence threshold, PR curves, the study
// confusion matrix and confidence histograms of true and false positives.
import type { Evaluation, ScoreFigures } from '../../../common/contract'
import { SCORED_CLASSES, STUDY_CLASSES, type ScoredClass } from '../../../common/domain'
import type { ScoreReport } from '../../core/metric/score'
import type { PrCurve } from '../../core/metric/voc-ap'
import { scorePredictions, type TruthChoice } from '../../ml/predict/truth-choice'
import type { PredictionsDocument } from './document'

/** Points per PR curve sent to the page: the envelope is drawn, not every one of 40,000 detections. */
const CURVE_POINTS = 400
const HISTOGRAM_BINS = 20

export function evaluatePredictions(
  predictionId: string,
  doc: PredictionsDocument,
  truth: TruthChoice,
  threshold = 0
): Evaluation {
  const report = scorePredictions(truth, doc.images, doc.studies)
  const above = scorePredictions(truth, doc.images, doc.studies, threshold)
  const classes = report.counts.classes
  return {
    predictionId,
    truthSource: truth.source,
    report: {
      ...figures(report),
      classes,
      truthIds: report.counts.truthIds,
      scoredRows: report.counts.scoredRows,
      missingIds: report.counts.missingIds.length,
      warnings: report.warnings
    },
    atThreshold: { ...figures(above), threshold },
    curves: Object.fromEntries(
      SCORED_CLASSES.map((c) => [c, thinCurve(report.curves[c])])
    ) as Evaluation['curves'],
    confusion: confusionMatrix(doc, truth),
    histograms: histograms(report)
  }
}

function figures(report: ScoreReport): ScoreFigures {
  return { ap: report.ap, studyMap: report.studyMap, imageMap: report.imageMap, final: report.final }
}

/** Studies by their true class (rows) and the class the prediction ranks first (columns). */
function confusionMatrix(doc: PredictionsDocument, truth: TruthChoice): Evaluation['confusion'] {
  const matrix = STUDY_CLASSES.map(() => STUDY_CLASSES.map(() => 0))
  const predicted = new Map(doc.studies.map((s) => [s.studyId, s.probabilities]))
  for (const study of truth.studies) {
    const probabilities = predicted.get(study.studyId)
    if (!probabilities || !study.label) continue
    const top = STUDY_CLASSES.reduce((best, c) => (probabilities[c] > probabilities[best] ? c : best))
    matrix[STUDY_CLASSES.indexOf(study.label)][STUDY_CLASSES.indexOf(top)]++
  }
  return { classes: [...STUDY_CLASSES], matrix }
}

/**
 * Confidence histograms per class, true and false positives apart. A curve's true-positive count
 * after detection k is precision_k × k, so each detection's verdict is read off its curve.
 */
function histograms(report: ScoreReport): Evaluation['histograms'] {
  const edges = Array.from({ length: HISTOGRAM_BINS + 1 }, (_, i) => i / HISTOGRAM_BINS)
  const classes = {} as Evaluation['histograms']['classes']
  for (const cls of SCORED_CLASSES as readonly ScoredClass[]) {
    const curve = report.curves[cls]
    const truePositives = new Array<number>(HISTOGRAM_BINS).fill(0)
    const falsePositives = new Array<number>(HISTOGRAM_BINS).fill(0)
    let tpBefore = 0
    curve.confidence.forEach((confidence, k) => {
      const tp = Math.round(curve.precision[k] * (k + 1))
      const bin = Math.min(HISTOGRAM_BINS - 1, Math.max(0, Math.floor(confidence * HISTOGRAM_BINS)))
      if (tp > tpBefore) truePositives[bin]++
      else falsePositives[bin]++
      tpBefore = tp
    })
    classes[cls] = { truePositives, falsePositives }
  }
  return { edges, classes }
}

/** At most CURVE_POINTS points, evenly spread over the ranking, the last one always kept. */
function thinCurve(curve: PrCurve): PrCurve {
  const n = curve.confidence.length
  if (n <= CURVE_POINTS) return curve
  const keep = Array.from({ length: CURVE_POINTS }, (_, i) => Math.round((i * (n - 1)) / (CURVE_POINTS - 1)))
  return {
    confidence: keep.map((i) => curve.confidence[i]),
    precision: keep.map((i) => curve.precision[i]),
    recall: keep.map((i) => curve.recall[i])
  }
}
