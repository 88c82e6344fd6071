import { describe, expect, it } from 'vitest'
import type { RunDetail } from '../../common/contract'
import {
  applyEvents,
  bestOf,
  emptyDashboard,
  loadRecorded,
  lossKeys,
  progressOf,
  switchJob
} from '../../renderer/src/training/dashboard-state'
import { endEvent, epochEvent, epochRecord, logEvent, startEvent, stepEvent } from './events'

function recordedRun(steps: number[], epochs: number): RunDetail {
  return {
    summary: {
      runId: '0123456789abcdef',
      path: '/ws/runs/a',
      name: 'a',
      state: 'cancelled',
      jobId: null,
      source: 'workspace',
      createdAt: null,
      updatedAt: null,
      dataset: null,
      model: null,
      backend: null,
      epochs,
      epochsPlanned: 3,
      timeLimitMinutes: null,
      best: { epoch: 1, metric: 'final', value: 0.4 },
      durationSeconds: 10,
      error: null
    },
    config: null,
    results: Array.from({ length: epochs }, (_, i) => epochRecord(i + 1, 0.4 - i * 0.1)),
    steps: { steps, series: { total: steps.map((s) => 10 / s), lr: steps.map(() => 0.01) } },
    log: ['line 1', 'line 2'],
    samples: null
  }
}

describe('dashboard state', () => {
  it('folds a job history, then live events, each once, in seq order', () => {
    const state = emptyDashboard()
    switchJob(state, 'job-1')
    const history = [
      startEvent('job-1', 1),
      stepEvent('job-1', 2, 1),
      stepEvent('job-1', 4, 3),
      logEvent('job-1', 3, 'a')
    ]
    expect(applyEvents(state, history)).toBe(4)
    // live events buffered before attach answered overlap the history
    const live = [stepEvent('job-1', 4, 3), stepEvent('job-1', 5, 4), logEvent('job-1', 6, 'b')]
    expect(applyEvents(state, live)).toBe(2)
    expect(state.steps.points.map((p) => p.step)).toEqual([1, 3, 4])
    expect(state.log).toEqual(['a', 'b'])
    expect(state.start?.stepsPerEpoch).toBe(10)
    expect(state.lastSeq).toBe(6)
  })

  it('ignores the events of other jobs', () => {
    const state = emptyDashboard()
    switchJob(state, 'job-1')
    applyEvents(state, [stepEvent('job-2', 1, 1), logEvent('job-2', 2, 'other')])
    expect(state.steps.length).toBe(0)
    expect(state.log).toEqual([])
  })

  it('keeps one record per epoch and the best the trainer reported', () => {
    const state = emptyDashboard()
    switchJob(state, 'j')
    applyEvents(state, [epochEvent('j', 1, 1, 0.2), epochEvent('j', 2, 2, 0.5), epochEvent('j', 3, 3, null)])
    expect(state.epochs.map((e) => e.epoch)).toEqual([1, 2, 3])
    expect(state.best).toMatchObject({ epoch: 2, value: 0.5 })
  })

  it('continues a recorded run with its resumed job: curves joined, seq counted per job', () => {
    const state = emptyDashboard()
    loadRecorded(state, recordedRun([1, 2, 3, 4, 5], 2))
    expect(state.epochs).toHaveLength(2)
    expect(state.log).toEqual(['line 1', 'line 2'])
    switchJob(state, 'resume-1')
    applyEvents(state, [
      startEvent('resume-1', 1, { resumed: true }),
      stepEvent('resume-1', 2, 5),
      stepEvent('resume-1', 3, 6)
    ])
    expect(state.steps.points.map((p) => p.step)).toEqual([1, 2, 3, 4, 5, 6])
    // the live step 5 adds what the file lacked
    expect(state.steps.points[4].values['img/s']).toBe(4)
    applyEvents(state, [epochEvent('resume-1', 4, 3, 0.6), endEvent('resume-1', 5)])
    expect(state.epochs.map((e) => e.epoch)).toEqual([1, 2, 3])
    expect(state.best).toMatchObject({ epoch: 3, value: 0.6 })
    expect(state.end?.state).toBe('done')
  })

  it('stays bounded on a 10,000-step run', () => {
    const state = emptyDashboard(2000)
    switchJob(state, 'long')
    const events = Array.from({ length: 10_000 }, (_, i) =>
      stepEvent('long', i + 1, i + 1, { stepsPerEpoch: 1000 })
    )
    applyEvents(state, events)
    expect(state.steps.length).toBeLessThanOrEqual(2001)
    expect(state.steps.last?.step).toBe(10_000)
    expect(state.step?.globalStep).toBe(10_000)
    expect(lossKeys(state)).toEqual(['total', 'cls', 'box'])
  })

  it('keeps only the newest log lines', () => {
    const state = emptyDashboard()
    switchJob(state, 'j')
    applyEvents(
      state,
      Array.from({ length: 700 }, (_, i) => logEvent('j', i + 1, `line ${i + 1}`))
    )
    expect(state.log).toHaveLength(500)
    expect(state.log[499]).toBe('line 700')
  })

  it('reports progress by epochs, or by minutes of the time limit', () => {
    const state = emptyDashboard()
    switchJob(state, 'j')
    applyEvents(state, [startEvent('j', 1), stepEvent('j', 2, 15)])
    expect(progressOf(state)).toMatchObject({
      epoch: 2,
      epochs: 3,
      step: 5,
      epochFraction: 0.5,
      runLabel: 'epoch 2 / 3'
    })
    expect(progressOf(state)!.runFraction).toBeCloseTo(1.5 / 3)

    const timed = emptyDashboard()
    switchJob(timed, 't')
    applyEvents(timed, [
      startEvent('t', 1, { untilTimeLimit: true, timeLimitMinutes: 15, epochs: 10_000 }),
      stepEvent('t', 2, 40, { epochs: 10_000, etaSeconds: 600 })
    ])
    const progress = progressOf(timed)!
    expect(progress.epochs).toBeNull()
    expect(progress.runLabel).toBe('5.0 / 15 min')
    expect(progress.runFraction).toBeCloseTo(1 / 3)
  })

  it('picks the best epoch like the trainer: highest final score, ties to the lower validation loss', () => {
    expect(bestOf([epochRecord(1, 0.5, 2), epochRecord(2, 0.5, 1), epochRecord(3, 0.4, 0.5)])).toMatchObject({
      epoch: 2,
      metric: 'final'
    })
    expect(bestOf([epochRecord(1, null, 2), epochRecord(2, null, 1)])).toMatchObject({
      epoch: 2,
      metric: 'val/total'
    })
    expect(bestOf([])).toBeNull()
  })
})
