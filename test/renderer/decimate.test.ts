import { describe, expect, it } from 'vitest'
import { DecimatedSeries } from '../../renderer/src/training/decimate'

const point = (step: number) => ({ step, values: { total: 1 / step } })

describe('DecimatedSeries', () => {
  it('keeps every point of a short run', () => {
    const series = new DecimatedSeries(2000)
    for (let step = 1; step <= 500; step++) series.add(point(step))
    expect(series.length).toBe(500)
  })

  it('keeps a 10,000-step run under the bound, spread over the whole run, the newest step included', () => {
    const series = new DecimatedSeries(2000)
    for (let step = 1; step <= 10_000; step++) {
      series.add(point(step))
      expect(series.length).toBeLessThanOrEqual(2001)
      expect(series.last!.step).toBe(step)
    }
    const steps = series.points.map((p) => p.step)
    expect(steps[0]).toBe(1)
    expect(series.length).toBeGreaterThan(1000)
    const gaps = steps.slice(1).map((s, i) => s - steps[i])
    // evenly thinned: no hole much wider than the stride
    expect(Math.max(...gaps)).toBeLessThanOrEqual(8)
    expect(gaps.every((gap) => gap > 0)).toBe(true)
  })

  it('merges a repeated step and sorts an older one in (a recorded run meeting its live job)', () => {
    const series = new DecimatedSeries(100)
    series.add({ step: 1, values: { total: 3 } })
    series.add({ step: 5, values: { total: 2 } })
    series.add({ step: 3, values: { total: 2.5 } })
    series.add({ step: 5, values: { 'img/s': 7 } })
    expect(series.points.map((p) => p.step)).toEqual([1, 3, 5])
    expect(series.points[2].values).toEqual({ total: 2, 'img/s': 7 })
    expect(series.pairs('img/s')).toEqual([[5, 7]])
  })
})
