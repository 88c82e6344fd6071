import { describe, expect, it } from 'vitest'
import { configDiff, configTable, flattenConfig } from '../../renderer/src/training/config-diff'

const config = (over: Record<string, unknown>, detector: Record<string, unknown> = {}) => ({
  train: {
    dataset: '/data/demo',
    out: `/ws/runs/${Math.random()}`,
    epochs: 30,
    lr: 0.01,
    optimizer: { name: 'adamw', weightDecay: 0.01 },
    strategy: { kind: 'freeze_unfreeze', epoch: 10 },
    defaults: { lr: '0.01 (random initialisation with adamw)' },
    ...over
  },
  detector: { head: 'efficientdet', backbone: 'efficientnet-b0', imageSize: 256, ...detector },
  backend: { name: 'wasm', device: 'CPU', kernels: [{ kernelName: 'Conv2D', action: 'added' }] },
  versions: { tfjs: '4.22.0' }
})

describe('run configs', () => {
  it('flattens nested settings and writes strategies the way the CLI takes them', () => {
    expect(
      flattenConfig({
        a: { b: 1, c: [1, 2] },
        s: { kind: 'unfreeze_milestones', milestones: [5, 10], stages: 2 }
      })
    ).toEqual([
      ['a.b', '1'],
      ['a.c', '[1,2]'],
      ['s', 'unfreeze_milestones:5,10:2']
    ])
  })

  it('lists only the settings that differ, leaving out the run folder and the defaults’ reasons', () => {
    const diff = configDiff([
      config({ lr: 0.01 }),
      config({ lr: 0.001, defaults: {} }, { imageSize: 512 }),
      config({ lr: 0.01 })
    ])
    expect(diff).toEqual([
      { key: 'detector.imageSize', values: ['256', '512', '256'] },
      { key: 'train.lr', values: ['0.01', '0.001', '0.01'] }
    ])
  })

  it('marks a setting one run lacks', () => {
    expect(configDiff([config({ patience: 5 }), config({})])).toEqual([
      { key: 'train.patience', values: ['5', '—'] }
    ])
  })

  it('tables a run’s choices first, then its backend and versions', () => {
    const rows = configTable(config({}))
    expect(rows[0][0]).toBe('train.dataset')
    expect(rows.find(([key]) => key === 'train.strategy')?.[1]).toBe('freeze_unfreeze:10')
    expect(rows.some(([key]) => key.startsWith('backend.kernels'))).toBe(false)
    expect(rows.at(-1)).toEqual(['versions.tfjs', '4.22.0'])
  })
})
