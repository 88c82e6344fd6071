import { describe, expect, it } from 'vitest'
import {
  compareSeries,
  epochClassSeries,
  epochLossSeries,
  epochScoreSeries,
  pointCount,
  stepLossSeries
} from '../../renderer/src/training/chart-options'
import { applyEvents, emptyDashboard, switchJob } from '../../renderer/src/training/dashboard-state'
import { epochRecord, stepEvent } from './events'

describe('training chart series', () => {
  it('draws every loss part per step, total first, and counts the points of all series', () => {
    const state = emptyDashboard()
    switchJob(state, 'j')
    applyEvents(state, [stepEvent('j', 1, 1), stepEvent('j', 2, 2)])
    const series = stepLossSeries(state)
    expect(series.map((s) => s.name)).toEqual(['total', 'cls', 'box'])
    expect(series[0].points).toEqual([
      [1, 10],
      [2, 5]
    ])
    expect(pointCount(series)).toBe(6)
  })

  it('marks the best epoch on the final score, or on the validation loss when no score was measured', () => {
    const epochs = [epochRecord(1, 0.3), epochRecord(2, 0.5), epochRecord(3, null)]
    const scores = epochScoreSeries(epochs, { epoch: 2, metric: 'final', value: 0.5 })
    expect(scores[0]).toMatchObject({ name: 'final score', mark: { x: 2 } })
    expect(scores[0].points).toEqual([
      [1, 0.3],
      [2, 0.5]
    ])
    const losses = epochLossSeries(epochs, { epoch: 3, metric: 'val/total', value: 1 / 3 })
    expect(losses[1].mark?.x).toBe(3)
    expect(epochLossSeries(epochs, null)[1].mark).toBeUndefined()
  })

  it('draws the AP of each of the six classes per epoch, leaving out epochs where a class is absent', () => {
    const epochs = [
      epochRecord(1, 0.3),
      { ...epochRecord(2, 0.5), ap: { ...epochRecord(2, 0.5).ap, atypical: null } }
    ]
    const series = epochClassSeries(epochs, { epoch: 2, metric: 'final', value: 0.5 })
    expect(series.map((s) => s.name)).toEqual([
      'negative',
      'typical',
      'indeterminate',
      'atypical',
      'opacity',
      'none'
    ])
    expect(series[3].points).toEqual([[1, 0.1]])
    expect(series[4].points).toEqual([
      [1, 0.3],
      [2, 0.3]
    ])
    expect(new Set(series.map((s) => s.color)).size).toBe(6)
    expect(series[0].mark?.x).toBe(2)
  })

  it('under --best-by smoothed, marks the best epoch on the smoothed score instead of the raw one', () => {
    const epochs = [1, 2, 3].map((e) => ({ ...epochRecord(e, 0.2 * e), finalSmoothed: 0.1 * e }))
    const scores = epochScoreSeries(epochs, {
      epoch: 3,
      metric: 'final',
      value: 0.6,
      rule: 'smoothed',
      smoothed: 0.3,
      smoothedEpochs: [1, 2, 3]
    })
    expect(scores[0].mark).toBeUndefined()
    expect(scores[1]).toMatchObject({ name: 'final, mean of 3', dashed: true, mark: { x: 3 } })
    expect(scores[1].points.map(([x]) => x)).toEqual([1, 2, 3])
  })

  it('overlays one metric of several runs', () => {
    const series = compareSeries(
      [
        { name: 'a', epochs: [epochRecord(1, 0.2), epochRecord(2, 0.4)] },
        { name: 'b', epochs: [epochRecord(1, 0.1)] }
      ],
      'final'
    )
    expect(series.map((s) => [s.name, s.points.length])).toEqual([
      ['a', 2],
      ['b', 1]
    ])
    expect(series[0].color).not.toBe(series[1].color)
  })
})
