import { describe, expect, it } from 'vitest'
import type { BackendProbe } from '../../common/contract'
import { backendNote, describeBest, formatDuration } from '../../renderer/src/training/format'

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
})
