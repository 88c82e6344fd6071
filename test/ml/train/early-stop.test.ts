import { describe, expect, it } from 'vitest'
import { SCORED_CLASSES } from '../../../common/domain'
import type { EpochRecord } from '../../../main/ml/runs/results-csv'
import { observeEpoch, type BestTrackerState } from '../../../main/ml/train/early-stop'

function record(epoch: number, final: number | null, valLoss: number | null = null): EpochRecord {
  return {
    epoch,
    train: { total: 1 },
    val: valLoss === null ? null : { total: valLoss },
    ap: Object.fromEntries(SCORED_CLASSES.map((c) => [c, null])) as EpochRecord['ap'],
    studyMap: null,
    imageMap: null,
    final,
    lr: 1e-3,
    seconds: 1,
    elapsed: epoch,
    frozen: []
  }
}

describe('best epoch and early stopping', () => {
  it('keeps the highest validation score and stops after `patience` epochs without a better one', () => {
    const state: BestTrackerState = { best: null, epochsWithoutImprovement: 0 }
    const outcomes = [0.3, 0.5, 0.45, 0.5, 0.49].map((final, i) =>
      observeEpoch(state, record(i + 1, final), 3)
    )
    expect(outcomes.map((o) => o.improved)).toEqual([true, true, false, false, false])
    // equal is not better: the third epoch without improvement stops the run
    expect(outcomes.map((o) => o.stop)).toEqual([false, false, false, false, true])
    expect(state.best).toEqual({ epoch: 2, metric: 'final', value: 0.5, valLoss: null })
  })

  it('breaks a tie of the score by the lower validation loss', () => {
    const state: BestTrackerState = { best: null, epochsWithoutImprovement: 0 }
    const outcomes = [
      [0.8, 2.0],
      [1.0, 0.6],
      [1.0, 0.7],
      [1.0, 0.08],
      [0.9, 0.01]
    ].map(([final, loss], i) => observeEpoch(state, record(i + 1, final, loss), 0))
    expect(outcomes.map((o) => o.improved)).toEqual([true, true, false, true, false])
    expect(state.best).toEqual({ epoch: 4, metric: 'final', value: 1.0, valLoss: 0.08 })
  })

  it('falls back to the lowest validation loss when there is no score, and never stops with patience 0', () => {
    const state: BestTrackerState = { best: null, epochsWithoutImprovement: 0 }
    observeEpoch(state, record(1, null, 2.0), 0)
    const second = observeEpoch(state, record(2, null, 1.5), 0)
    const third = observeEpoch(state, record(3, null, 1.7), 0)
    expect(second.improved).toBe(true)
    expect(third).toEqual({ improved: false, stop: false })
    expect(state.best).toEqual({ epoch: 2, metric: 'val/total', value: 1.5, valLoss: 1.5 })
  })

  it('an epoch without any validation neither improves nor uses up patience', () => {
    const state: BestTrackerState = { best: null, epochsWithoutImprovement: 0 }
    for (let epoch = 1; epoch <= 5; epoch++)
      expect(observeEpoch(state, record(epoch, null), 1)).toEqual({ improved: false, stop: false })
    expect(state.best).toBeNull()
  })
})
