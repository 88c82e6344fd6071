import { describe, expect, it } from 'vitest'
import { SCORED_CLASSES } from '../../../common/domain'
import type { EpochRecord } from '../../../main/ml/runs/results-csv'
import { bestEpoch, describeBestRule } from '../../../common/best-epoch'
import { BEST_BY_CHOICES, type BestBy } from '../../../common/training'
import { observeEpoch, type BestTrackerState } from '../../../main/ml/train/early-stop'
import { closeEpoch } from '../../../main/ml/train/epoch-record'
import { freshState } from '../../../main/ml/train/run-record'

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
    expect(state.best).toEqual({ epoch: 2, metric: 'final', value: 0.5, valLoss: null, rule: 'final' })
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
    expect(state.best).toEqual({ epoch: 4, metric: 'final', value: 1.0, valLoss: 0.08, rule: 'final' })
  })

  it('falls back to the lowest validation loss when there is no score, and never stops with patience 0', () => {
    const state: BestTrackerState = { best: null, epochsWithoutImprovement: 0 }
    observeEpoch(state, record(1, null, 2.0), 0)
    const second = observeEpoch(state, record(2, null, 1.5), 0)
    const third = observeEpoch(state, record(3, null, 1.7), 0)
    expect(second.improved).toBe(true)
    expect(third).toEqual({ improved: false, stop: false })
    expect(state.best).toEqual({ epoch: 2, metric: 'val/total', value: 1.5, valLoss: 1.5, rule: 'final' })
  })

  it('an epoch without any validation neither improves nor uses up patience', () => {
    const state: BestTrackerState = { best: null, epochsWithoutImprovement: 0 }
    for (let epoch = 1; epoch <= 5; epoch++)
      expect(observeEpoch(state, record(epoch, null), 1)).toEqual({ improved: false, stop: false })
    expect(state.best).toBeNull()
  })
})

describe('--best-by: the rule that picks the best epoch', () => {
  // a 4-image validation set: a lucky spike at epoch 3, then a plateau from epoch 6 on
  const noisy = [0.3, 0.4, 0.9, 0.45, 0.5, 0.7, 0.72, 0.74, 0.66]
  const run = (rule: BestBy, finals: number[], losses: number[] = finals.map(() => 1)) => {
    const state: BestTrackerState = { best: null, epochsWithoutImprovement: 0 }
    const history: EpochRecord[] = []
    const improved = finals.map((final, i) => {
      const r = record(i + 1, final, losses[i])
      const verdict = observeEpoch(state, r, 0, rule, history)
      history.push(r)
      return verdict.improved
    })
    return { best: state.best!, improved, history }
  }

  it('smoothed: a spike in the raw score does not win; the plateau does', () => {
    expect(run('final', noisy).best.epoch).toBe(3)
    const { best } = run('smoothed', noisy)
    // means of three: epoch 3 (0.3 + 0.4 + 0.9) / 3 = 0.533 ... epoch 8 (0.7 + 0.72 + 0.74) / 3 = 0.72, epoch 9 0.707
    expect(best.epoch).toBe(8)
    expect(best.rule).toBe('smoothed')
    expect(best.value).toBe(0.74) // its own (raw) score is recorded beside the smoothed one
    expect(best.smoothed).toBeCloseTo(0.72, 10)
    expect(best.smoothedEpochs).toEqual([6, 7, 8])
    expect(describeBestRule(best)).toBe(
      'smoothed final 0.7200 (mean of epochs 6, 7, 8; its own final 0.7400)'
    )
  })

  it('smoothed: equal means go to the lower validation loss, and the first epochs average what there is', () => {
    const { best, improved } = run('smoothed', [0.5, 0.5, 0.5, 0.5], [2, 1, 0.5, 0.9])
    expect(improved).toEqual([true, true, true, false])
    expect(best.epoch).toBe(3)
    expect(best.valLoss).toBe(0.5)
    expect(run('smoothed', [0.2]).best.smoothedEpochs).toEqual([1])
  })

  it('loss: the lowest validation loss, whatever the score', () => {
    const { best } = run('loss', noisy, [3, 2, 2.5, 1.2, 1.1, 1.3, 1.0, 1.05, 1.01])
    expect(best).toMatchObject({ epoch: 7, metric: 'val/total', value: 1.0, rule: 'loss' })
  })

  it('bestEpoch over a whole history agrees with the epoch-by-epoch tracker (the dashboard relies on it)', () => {
    for (const rule of BEST_BY_CHOICES) {
      const { best, history } = run(rule, noisy, [3, 2, 2.5, 1.2, 1.1, 1.3, 1.0, 1.05, 1.01])
      expect(bestEpoch(history, rule)).toEqual(best)
    }
  })

  it('closeEpoch records the smoothed score of every epoch (results.csv final_smoothed)', () => {
    const state = freshState()
    for (const [i, final] of [0.2, 0.8, 0.5, null, 0.1].entries())
      closeEpoch(state, record(i + 1, final, 1), { patience: 0, rule: 'smoothed', scheduleProgress: 0 })
    const smoothed = state.history.map((r) => r.finalSmoothed)
    expect(smoothed.slice(0, 4)).toEqual([0.2, 0.5, 0.5, null])
    expect(smoothed[4]).toBeCloseTo((0.8 + 0.5 + 0.1) / 3, 10)
    expect(state.best?.epoch).toBe(2)
  })
})
