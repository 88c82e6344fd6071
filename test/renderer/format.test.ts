import { describe, expect, it } from 'vitest'
import type { BackendProbe, JobInfo, RunSummary } from '../../common/contract'
import {
  backendNote,
  describeBest,
  describeEpoch,
  describeRunState,
  formatDuration
} from '../../renderer/src/training/format'
import { epochRecord } from './events'

const probe: BackendProbe = {
  auto: {
    name: 'wasm',
    device: 'CPU',
    tfjsVersion: '4.22.0',
    backendVersion: '4.22.0',
    threads: 1,
    fallbacks: [
      { backend: '@tensorflow/tfjs-node-gpu', reason: 'not installed' },
      { backend: '@tensorflow/tfjs-node', reason: 'not installed' }
    ],
    package: '@tensorflow/tfjs-backend-wasm',
    simd: true
  },
  choices: {
    tensorflow: { available: false, reason: '@tensorflow/tfjs-node: not installed' },
    wasm: { available: true, reason: 'SIMD build' },
    cpu: { available: true, reason: '' }
  }
}

describe('training text', () => {
  it('says which backend runs and why the faster ones do not', () => {
    expect(backendNote(probe, '')).toEqual({
      text: 'WASM (SIMD) on CPU, 1 thread — @tensorflow/tfjs-node-gpu: not installed; @tensorflow/tfjs-node: not installed',
      available: true
    })
    expect(backendNote(probe, 'tensorflow')).toEqual({
      text: 'TensorFlow is not available here: @tensorflow/tfjs-node: not installed',
      available: false
    })
    expect(backendNote(probe, 'cpu')).toEqual({ text: 'CPU (pure JS)', available: true })
  })

  it('writes durations and the best epoch the way the dashboard shows them', () => {
    expect([formatDuration(45), formatDuration(725), formatDuration(3723), formatDuration(null)]).toEqual([
      '45 s',
      '12:05',
      '1:02:03',
      '—'
    ])
    expect(describeBest({ epoch: 7, metric: 'final', value: 0.41234 })).toBe('final score 0.412 at epoch 7')
    expect(describeBest(null)).toBe('no best epoch yet')
  })

  it('writes an epoch the way the dashboard line shows it', () => {
    expect(describeEpoch(epochRecord(2, 0.31))).toBe(
      'epoch 2: train loss 1 · validation loss 0.5 · final 0.31 · study mAP 0.325 · lr 0.01 · 10 s'
    )
    expect(describeEpoch({ ...epochRecord(1, null), frozen: ['stage1', 'stage2'] })).toContain(
      'final — · study mAP 0.325 · lr 0.01 · 10 s · 2 backbone stages frozen'
    )
  })
})

describe('the dashboard state chip', () => {
  const job = (state: JobInfo['state'], result: unknown = null): JobInfo => ({
    jobId: 'train-1',
    kind: 'train',
    title: 'Train a',
    state,
    progress: null,
    createdAt: 0,
    startedAt: null,
    endedAt: null,
    error: null,
    result,
    meta: {}
  })
  const folder = (state: RunSummary['state']) => ({ state }) as RunSummary

  it('names the live job, stopping once a cancel is asked', () => {
    expect(describeRunState(job('queued'), false, null, null)).toEqual({
      key: 'queued',
      label: 'queued (waiting for another training)'
    })
    expect(describeRunState(job('running'), false, null, folder('running')).label).toBe('running')
    expect(describeRunState(job('running'), true, null, folder('running')).label).toBe('stopping…')
  })

  it("says how the job ended until the folder is re-read, then the folder's state", () => {
    const end = { state: 'done' as const, error: null }
    expect(describeRunState(job('done', { status: 'time-limit' }), false, end, folder('running')).key).toBe(
      'time-limit'
    )
    expect(describeRunState(job('done'), false, end, null).key).toBe('completed')
    expect(describeRunState(job('cancelled'), false, { state: 'cancelled', error: null }, null).key).toBe(
      'cancelled'
    )
    expect(describeRunState(null, false, end, folder('early-stopped'))).toEqual({
      key: 'early-stopped',
      label: 'stopped early'
    })
    expect(describeRunState(null, false, null, null).key).toBe('unknown')
  })
})

describe('describeBest under --best-by smoothed', () => {
  it('says the epoch, its own score and the mean its rule compared', () => {
    expect(
      describeBest({
        epoch: 8,
        metric: 'final',
        value: 0.74,
        rule: 'smoothed',
        smoothed: 0.72,
        smoothedEpochs: [6, 7, 8]
      })
    ).toBe('final score 0.740 at epoch 8 (best by the mean of epochs 6, 7, 8: 0.720)')
    expect(describeBest({ epoch: 2, metric: 'final', value: 0.5, rule: 'final' })).toBe(
      'final score 0.500 at epoch 2'
    )
  })
})
