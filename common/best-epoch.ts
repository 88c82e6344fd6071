// Which epoch is best, by one of three rules (--best-by): the trainer keeps checkpoints/best by it,
// the dashboard marks it, the fold summary reports it. Pure functions over the epoch records, so the
// engine and the renderer agree.
//   smoothed  the mean of the validation score over the epoch and the SMOOTHING_WINDOW - 1 epochs with
//             a score before it (a trailing window: checkpoints/best is saved when the epoch ends, so
//             later epochs cannot be waited for). With 4-12 validation studies one epoch's score
//             jumps by 0.2; a spike does not lift the mean of three above a plateau.
//   final     the epoch's own score (the rule of earlier versions).
//   loss      the lowest validation loss.
// Equal values are told apart by the lower validation loss. Without any score the validation loss
// decides (metric `val/total`); without validation there is no best.
import type { BestScore, EpochRecord } from './contract/training'
import type { BestBy } from './training'

export const SMOOTHING_WINDOW = 3

/** The smoothed score of `records[index]`: the mean over it and the scored epochs just before it. */
export function smoothedScore(
  records: readonly EpochRecord[],
  index: number
): { value: number; epochs: number[] } | null {
  if (!isScore(records[index]?.final)) return null
  const window: EpochRecord[] = []
  for (let i = index; i >= 0 && window.length < SMOOTHING_WINDOW; i--)
    if (isScore(records[i].final)) window.push(records[i])
  const value = window.reduce((sum, r) => sum + r.final!, 0) / window.length
  return { value, epochs: window.map((r) => r.epoch).reverse() }
}

/** What `records[index]` offers to the comparison under `rule`, or null without any validation. */
export function candidateOf(records: readonly EpochRecord[], index: number, rule: BestBy): BestScore | null {
  const record = records[index]
  const valLoss = isScore(record.val?.total) ? record.val!.total : null
  if (rule !== 'loss' && isScore(record.final)) {
    const smoothed = rule === 'smoothed' ? smoothedScore(records, index) : null
    return {
      epoch: record.epoch,
      metric: 'final',
      value: record.final!,
      valLoss,
      rule,
      ...(smoothed ? { smoothed: smoothed.value, smoothedEpochs: smoothed.epochs } : {})
    }
  }
  if (valLoss === null) return null
  return { epoch: record.epoch, metric: 'val/total', value: valLoss, valLoss, rule }
}

/** Whether `candidate` beats `best` (both from candidateOf under the same rule). */
export function beats(candidate: BestScore, best: BestScore | null): boolean {
  if (!best) return true
  if (candidate.metric !== best.metric) return candidate.metric === 'final'
  if (candidate.metric === 'val/total') return candidate.value < best.value
  const a = compared(candidate)
  const b = compared(best)
  if (a !== b) return a > b
  const lossA = candidate.valLoss ?? null
  const lossB = best.valLoss ?? null
  return lossA !== null && lossB !== null && lossA < lossB
}

/** The best epoch of a finished history under `rule` (older runs without a rule: `final`). */
export function bestEpoch(records: readonly EpochRecord[], rule: BestBy = 'final'): BestScore | null {
  let best: BestScore | null = null
  for (let i = 0; i < records.length; i++) {
    const candidate = candidateOf(records, i, rule)
    if (candidate && beats(candidate, best)) best = candidate
  }
  return best
}

/** Why the epoch is best, in words: `smoothed final 0.700 (mean of epochs 6-8; its own 0.720)`. */
export function describeBestRule(best: BestScore): string {
  const f = (v: number) => v.toFixed(4)
  if (best.metric === 'val/total')
    return `lowest validation loss ${f(best.value)}${best.rule && best.rule !== 'loss' ? ' (no validation score)' : ''}`
  if (best.rule === 'smoothed' && best.smoothed !== undefined && best.smoothedEpochs) {
    const e = best.smoothedEpochs
    const over = e.length === 1 ? `epoch ${e[0]} alone` : `epochs ${e.join(', ')}`
    return `smoothed final ${f(best.smoothed)} (mean of ${over}; its own final ${f(best.value)})`
  }
  return `final ${f(best.value)}`
}

/** The number a rule compares: the smoothed score under `smoothed`, else the score itself. */
function compared(score: BestScore): number {
  return score.rule === 'smoothed' && score.smoothed !== undefined ? score.smoothed : score.value
}

function isScore(value: number | null | undefined): value is number {
  return value !== null && value !== undefined && Number.isFinite(value)
}
