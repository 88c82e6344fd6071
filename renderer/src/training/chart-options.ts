// The training charts' series, from the dashboard state or a run's epoch records.
import type { BestScore, EpochRecord } from '../../../common/contract'
import { SCORED_CLASSES, type ScoredClass } from '../../../common/domain'
import type { LineSeries } from '../components/charts'
import { lossKeys, type DashboardState } from './dashboard-state'

const PART_COLORS: Record<string, string> = {
  total: '#4fa3ff',
  cls: '#ffb020',
  box: '#ff5a5f',
  study: '#b47cff',
  none: '#3ddc84'
}
const SPARE_COLORS = ['#22d3ee', '#c8a27a', '#9c8fd8', '#8fbf8f']
/** Overlaid runs in the comparison, in selection order. */
export const RUN_COLORS = [
  '#4fa3ff',
  '#ffb020',
  '#3ddc84',
  '#ff5a5f',
  '#b47cff',
  '#22d3ee',
  '#c8a27a',
  '#9aa6b4'
]

function partColor(key: string, i: number): string {
  return PART_COLORS[key] ?? SPARE_COLORS[i % SPARE_COLORS.length]
}

/** Per-step losses: the total and each part of the detector's loss. */
export function stepLossSeries(state: DashboardState): LineSeries[] {
  return lossKeys(state).map((key, i) => ({
    name: key,
    points: state.steps.pairs(key),
    color: partColor(key, i)
  }))
}

export function stepRateSeries(state: DashboardState): LineSeries[] {
  return [{ name: 'learning rate', points: state.steps.pairs('lr'), color: '#c8a27a' }]
}

/** Epoch metrics the charts and the comparison draw. */
export const EPOCH_METRICS = {
  final: { label: 'final score', pick: (r: EpochRecord) => r.final },
  finalSmoothed: {
    label: 'final score, mean of 3 epochs',
    pick: (r: EpochRecord) => r.finalSmoothed ?? null
  },
  studyMap: { label: 'study mAP', pick: (r: EpochRecord) => r.studyMap },
  opacity: { label: 'opacity AP', pick: (r: EpochRecord) => r.ap.opacity ?? null },
  none: { label: 'none AP', pick: (r: EpochRecord) => r.ap.none ?? null },
  trainLoss: { label: 'train loss', pick: (r: EpochRecord) => r.train.total ?? null },
  valLoss: { label: 'validation loss', pick: (r: EpochRecord) => r.val?.total ?? null }
} as const
export type EpochMetric = keyof typeof EPOCH_METRICS

/** One line per scored class on the per-class chart (the legend toggles them). */
export const CLASS_COLORS: Record<ScoredClass, string> = {
  negative: '#4fa3ff',
  typical: '#ffb020',
  indeterminate: '#9c8fd8',
  atypical: '#22d3ee',
  opacity: '#ff5a5f',
  none: '#3ddc84'
}

export function epochPoints(
  epochs: readonly EpochRecord[],
  metric: EpochMetric | ((r: EpochRecord) => number | null | undefined)
): Array<[number, number]> {
  const pick = typeof metric === 'function' ? metric : EPOCH_METRICS[metric].pick
  const out: Array<[number, number]> = []
  for (const record of epochs) {
    const value = pick(record)
    if (value !== null && value !== undefined && Number.isFinite(value)) out.push([record.epoch, value])
  }
  return out
}

function bestMark(best: BestScore | null, label = 'best') {
  return best ? { x: best.epoch, label: `${label}: epoch ${best.epoch}` } : undefined
}

/** Training vs validation loss per epoch; the best epoch marked when it was picked by the loss. */
export function epochLossSeries(epochs: readonly EpochRecord[], best: BestScore | null): LineSeries[] {
  return [
    { name: 'train loss', points: epochPoints(epochs, 'trainLoss'), color: '#4fa3ff' },
    {
      name: 'validation loss',
      points: epochPoints(epochs, 'valLoss'),
      color: '#ffb020',
      dashed: true,
      mark: best?.metric === 'val/total' ? bestMark(best) : undefined
    }
  ]
}

/**
 * The competition's final score and its parts per epoch, the best epoch marked on the score its rule
 * compared: the smoothed one (mean of 3 epochs, dashed) under --best-by smoothed, else the final score.
 */
export function epochScoreSeries(epochs: readonly EpochRecord[], best: BestScore | null): LineSeries[] {
  const bySmoothed = best?.metric === 'final' && best.rule === 'smoothed'
  const smoothed = epochPoints(epochs, 'finalSmoothed')
  return [
    {
      name: 'final score',
      points: epochPoints(epochs, 'final'),
      color: '#e6edf3',
      mark: best?.metric === 'final' && !bySmoothed ? bestMark(best) : undefined
    },
    ...(smoothed.length
      ? [
          {
            name: 'final, mean of 3',
            points: smoothed,
            color: '#9aa6b4',
            dashed: true,
            mark: bySmoothed ? bestMark(best, 'best (smoothed)') : undefined
          }
        ]
      : []),
    { name: 'study mAP', points: epochPoints(epochs, 'studyMap'), color: '#b47cff' },
    { name: 'opacity AP', points: epochPoints(epochs, 'opacity'), color: '#ff5a5f' },
    { name: 'none AP', points: epochPoints(epochs, 'none'), color: '#3ddc84' }
  ]
}

/** The AP of each of the six scored classes per epoch (null APs: the class is absent from the split). */
export function epochClassSeries(epochs: readonly EpochRecord[], best: BestScore | null): LineSeries[] {
  return SCORED_CLASSES.map((cls, i) => ({
    name: cls,
    points: epochPoints(epochs, (r) => r.ap[cls]),
    color: CLASS_COLORS[cls],
    mark: i === 0 && best ? bestMark(best) : undefined
  }))
}

/** One metric of several runs, overlaid. */
export function compareSeries(
  runs: ReadonlyArray<{ name: string; epochs: readonly EpochRecord[] }>,
  metric: EpochMetric
): LineSeries[] {
  return runs.map((run, i) => ({
    name: run.name,
    points: epochPoints(run.epochs, metric),
    color: RUN_COLORS[i % RUN_COLORS.length]
  }))
}

/** Points a chart draws, over all its series: the charts expose it for tests as `data-points`. */
export function pointCount(series: readonly LineSeries[]): number {
  return series.reduce((sum, s) => sum + s.points.length, 0)
}
