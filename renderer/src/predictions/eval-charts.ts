// echarts options of the Evaluation view: a precision-recall curve per scored class, the study
// confusion matrix as a heatmap with its counts, and confidence histograms of true against false
// positives. Plain objects from the evaluation, so they are tested without a browser.
import type { Evaluation } from '../../../common/contract'
import { SCORED_CLASSES, type ScoredClass } from '../../../common/domain'
import { CLASS_COLORS, PREDICTION_COLOR, REVIEW_COLORS } from '../classes'

export const SCORED_CLASS_COLORS: Record<ScoredClass, string> = {
  negative: CLASS_COLORS.negative,
  typical: CLASS_COLORS.typical,
  indeterminate: CLASS_COLORS.indeterminate,
  atypical: CLASS_COLORS.atypical,
  opacity: PREDICTION_COLOR,
  none: '#c9d2dc'
}

const TEXT = '#c9d2dc'
const DIM = '#9aa6b4'
const AXIS = {
  axisLine: { lineStyle: { color: '#3a4656' } },
  axisLabel: { color: DIM },
  splitLine: { lineStyle: { color: '#1d252f' } },
  nameTextStyle: { color: '#7d8896' }
}
const TOOLTIP = { backgroundColor: '#19202a', borderColor: '#232c38', textStyle: { color: TEXT } }

/** `typical 0.4123`; a class without truth or detections has no AP. */
function legendName(cls: ScoredClass, ap: number | null | undefined): string {
  return ap === null || ap === undefined ? `${cls} (no AP)` : `${cls} ${ap.toFixed(3)}`
}

/** Precision against recall after each detection, one line per class, AP in the legend. */
export function prCurveOption(evaluation: Pick<Evaluation, 'curves' | 'report'>) {
  const series = SCORED_CLASSES.map((cls) => {
    const curve = evaluation.curves[cls]
    return {
      type: 'line' as const,
      name: legendName(cls, evaluation.report.ap[cls]),
      data: curve ? curve.recall.map((r, i) => [r, curve.precision[i], curve.confidence[i]]) : [],
      showSymbol: false,
      step: false,
      animation: false,
      lineStyle: { width: 1.8, color: SCORED_CLASS_COLORS[cls] },
      itemStyle: { color: SCORED_CLASS_COLORS[cls] }
    }
  })
  return {
    backgroundColor: 'transparent',
    animation: false,
    textStyle: { color: TEXT },
    legend: { top: 0, textStyle: { color: DIM }, itemHeight: 8 },
    tooltip: {
      trigger: 'item' as const,
      ...TOOLTIP,
      formatter: (p: { seriesName: string; value: number[] }) =>
        `${p.seriesName}<br/>recall ${p.value[0].toFixed(3)} · precision ${p.value[1].toFixed(3)}<br/>confidence ≥ ${p.value[2].toFixed(3)}`
    },
    grid: { left: 56, right: 16, top: 56, bottom: 40 },
    xAxis: {
      type: 'value' as const,
      name: 'recall',
      nameLocation: 'middle' as const,
      nameGap: 24,
      min: 0,
      max: 1,
      ...AXIS
    },
    yAxis: {
      type: 'value' as const,
      name: 'precision',
      nameLocation: 'middle' as const,
      nameGap: 36,
      min: 0,
      max: 1,
      ...AXIS
    },
    series
  }
}

/** Truth (rows, top to bottom) against the predicted class (columns), with the count in each cell. */
export function confusionOption(confusion: Evaluation['confusion']) {
  const classes = confusion.classes
  const data: Array<[number, number, number]> = []
  confusion.matrix.forEach((row, t) => row.forEach((count, p) => data.push([p, t, count])))
  const max = Math.max(1, ...data.map((cell) => cell[2]))
  return {
    backgroundColor: 'transparent',
    animation: false,
    textStyle: { color: TEXT },
    tooltip: {
      ...TOOLTIP,
      formatter: (p: { value: [number, number, number] }) =>
        `truth ${classes[p.value[1]]} · predicted ${classes[p.value[0]]}: ${p.value[2]} stud${p.value[2] === 1 ? 'y' : 'ies'}`
    },
    grid: { left: 100, right: 20, top: 10, bottom: 56 },
    xAxis: {
      type: 'category' as const,
      data: [...classes],
      name: 'predicted',
      nameLocation: 'middle' as const,
      nameGap: 30,
      ...AXIS,
      splitArea: { show: false }
    },
    yAxis: {
      type: 'category' as const,
      data: [...classes],
      inverse: true,
      name: 'truth',
      nameLocation: 'middle' as const,
      nameGap: 84,
      ...AXIS,
      splitArea: { show: false }
    },
    visualMap: {
      show: false,
      min: 0,
      max,
      inRange: { color: ['#141b24', '#1c4f86', '#4fa3ff'] }
    },
    series: [
      {
        type: 'heatmap' as const,
        data,
        label: { show: true, color: '#e8f1fb', fontSize: 14 },
        itemStyle: { borderColor: '#0b0e12', borderWidth: 2 },
        emphasis: { itemStyle: { borderColor: '#4fa3ff' } }
      }
    ]
  }
}

/** `0.0–0.1` per bin of the histogram edges. */
export function binLabels(edges: readonly number[]): string[] {
  const digits = edges.some((e) => Math.round(e * 10) !== e * 10) ? 2 : 1
  return edges.slice(1).map((hi, i) => `${edges[i].toFixed(digits)}–${hi.toFixed(digits)}`)
}

/** The class the histogram opens on: opacity when it has detections, else the first class that has. */
export function defaultHistogramClass(histograms: Evaluation['histograms']): ScoredClass {
  const count = (cls: ScoredClass) => {
    const counts = histograms.classes[cls]
    return counts ? [...counts.truePositives, ...counts.falsePositives].reduce((a, b) => a + b, 0) : 0
  }
  return (['opacity', ...SCORED_CLASSES] as ScoredClass[]).find((cls) => count(cls) > 0) ?? 'opacity'
}

/** True against false positives per confidence bin of one class. */
export function histogramOption(histograms: Evaluation['histograms'], cls: ScoredClass) {
  const counts = histograms.classes[cls] ?? { truePositives: [], falsePositives: [] }
  const bars = (name: string, values: number[], color: string) => ({
    type: 'bar' as const,
    name,
    data: values,
    itemStyle: { color },
    barMaxWidth: 26,
    animation: false
  })
  return {
    backgroundColor: 'transparent',
    animation: false,
    textStyle: { color: TEXT },
    legend: { top: 0, textStyle: { color: DIM }, itemHeight: 8 },
    tooltip: { trigger: 'axis' as const, ...TOOLTIP },
    grid: { left: 44, right: 16, top: 30, bottom: 48 },
    xAxis: {
      type: 'category' as const,
      data: binLabels(histograms.edges),
      name: 'confidence',
      nameLocation: 'middle' as const,
      nameGap: 32,
      ...AXIS,
      axisLabel: {
        ...AXIS.axisLabel,
        interval: 0,
        rotate: histograms.edges.length > 11 ? 40 : 0,
        fontSize: 10
      }
    },
    yAxis: { type: 'value' as const, minInterval: 1, name: 'detections', ...AXIS },
    series: [
      bars('true positives', counts.truePositives, REVIEW_COLORS.tp),
      bars('false positives', counts.falsePositives, REVIEW_COLORS.fp)
    ]
  }
}

/** Counts of the confusion matrix: studies, correct (the diagonal), and accuracy. */
export function confusionTotals(confusion: Evaluation['confusion']): {
  studies: number
  correct: number
  accuracy: number | null
} {
  let studies = 0
  let correct = 0
  confusion.matrix.forEach((row, t) =>
    row.forEach((count, p) => {
      studies += count
      if (t === p) correct += count
    })
  )
  return { studies, correct, accuracy: studies ? correct / studies : null }
}
