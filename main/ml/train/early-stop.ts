// Which epoch is best, and when to stop early: the competition score on the validation split when
// it has one (higher is better), else the validation loss (lower is better).
import type { EpochRecord } from '../runs/results-csv'
import type { BestScore } from './events'

export interface BestTrackerState {
  best: BestScore | null
  epochsWithoutImprovement: number
}

export function scoreOf(record: EpochRecord): { metric: BestScore['metric']; value: number } | null {
  if (record.final !== null && Number.isFinite(record.final)) return { metric: 'final', value: record.final }
  if (record.val && Number.isFinite(record.val.total)) return { metric: 'val/total', value: record.val.total }
  return null
}

function better(candidate: { metric: BestScore['metric']; value: number }, best: BestScore): boolean {
  if (candidate.metric !== best.metric) return candidate.metric === 'final'
  return candidate.metric === 'final' ? candidate.value > best.value : candidate.value < best.value
}

/**
 * Updates `state` with a finished epoch; returns whether it is the new best and whether training
 * should stop (`patience` epochs in a row without improvement; 0 never stops). An epoch without any
 * validation score neither improves nor counts against patience.
 */
export function observeEpoch(
  state: BestTrackerState,
  record: EpochRecord,
  patience: number
): { improved: boolean; stop: boolean } {
  const candidate = scoreOf(record)
  if (candidate === null) return { improved: false, stop: false }
  const improved = state.best === null || better(candidate, state.best)
  if (improved) state.best = { epoch: record.epoch, metric: candidate.metric, value: candidate.value }
  state.epochsWithoutImprovement = improved ? 0 : state.epochsWithoutImprovement + 1
  return { improved, stop: patience > 0 && state.epochsWithoutImprovement >= patience }
}
