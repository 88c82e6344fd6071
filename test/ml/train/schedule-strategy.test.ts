import { describe, expect, it } from 'vitest'
import { learningRate } from '../../../main/ml/train/schedule'
import { frozenStagesAt, parseStrategy, formatStrategy } from '../../../main/ml/train/strategy'
import { UserError } from '../../../main/core/errors'

describe('learningRate (warm-up + cosine)', () => {
  const options = { lr: 1e-3, warmupSteps: 10, totalSteps: 110, minLrRatio: 0.01 }

  it('rises linearly during warm-up and never starts at zero', () => {
    expect(learningRate(0, options)).toBeCloseTo(1e-4, 12)
    expect(learningRate(4, options)).toBeCloseTo(5e-4, 12)
    expect(learningRate(9, options)).toBeCloseTo(1e-3, 12)
  })

  it('decays along a cosine from the peak to the floor', () => {
    expect(learningRate(10, options)).toBeCloseTo(1e-3, 12)
    // half way through the decay: floor + (peak - floor) / 2
    expect(learningRate(60, options)).toBeCloseTo(1e-5 + (1e-3 - 1e-5) / 2, 12)
    expect(learningRate(110, options)).toBeCloseTo(1e-5, 12)
    expect(learningRate(500, options)).toBeCloseTo(1e-5, 12)
  })

  it('follows the clock when a time limit would end the run first', () => {
    expect(learningRate(20, options, 1)).toBeCloseTo(1e-5, 12)
    expect(learningRate(20, options, 0.5)).toBeCloseTo(1e-5 + (1e-3 - 1e-5) / 2, 12)
    // the step count wins when it is further along
    expect(learningRate(110, options, 0.1)).toBeCloseTo(1e-5, 12)
  })
})

describe('fine-tuning strategies', () => {
  const stages = ['backbone/stem', 'backbone/stage1', 'backbone/stage2', 'backbone/top']

  it('parses our and Flash spellings, with Flash default 10 for freeze_unfreeze', () => {
    expect(parseStrategy('freeze_unfreeze')).toEqual({ kind: 'freeze_unfreeze', epoch: 10 })
    expect(parseStrategy('freeze_unfreeze:3')).toEqual({ kind: 'freeze_unfreeze', epoch: 3 })
    expect(parseStrategy('freeze_unfreeze(7)')).toEqual({ kind: 'freeze_unfreeze', epoch: 7 })
    expect(parseStrategy('unfreeze_milestones((5, 10), 2)')).toEqual({
      kind: 'unfreeze_milestones',
      milestones: [5, 10],
      stages: 2
    })
    expect(formatStrategy(parseStrategy('unfreeze_milestones:5,10:2'))).toBe('unfreeze_milestones:5,10:2')
    expect(() => parseStrategy('freeze_everything')).toThrow(UserError)
    expect(() => parseStrategy('unfreeze_milestones:10,5:2')).toThrow(/E2 must not come before E1/)
  })

  it('freeze_unfreeze:2 freezes the whole backbone in epochs 0 and 1 and nothing from epoch 2', () => {
    const s = parseStrategy('freeze_unfreeze:2')
    expect(frozenStagesAt(s, 0, stages)).toEqual(stages)
    expect(frozenStagesAt(s, 1, stages)).toEqual(stages)
    expect(frozenStagesAt(s, 2, stages)).toEqual([])
  })

  it('unfreeze_milestones releases the last N stages at E1 and the rest at E2', () => {
    const s = parseStrategy('unfreeze_milestones:1,3:2')
    expect(frozenStagesAt(s, 0, stages)).toEqual(stages)
    expect(frozenStagesAt(s, 1, stages)).toEqual(['backbone/stem', 'backbone/stage1'])
    expect(frozenStagesAt(s, 2, stages)).toEqual(['backbone/stem', 'backbone/stage1'])
    expect(frozenStagesAt(s, 3, stages)).toEqual([])
  })

  it('no_freeze never freezes, freeze always does', () => {
    expect(frozenStagesAt(parseStrategy('no_freeze'), 0, stages)).toEqual([])
    expect(frozenStagesAt(parseStrategy('freeze'), 99, stages)).toEqual(stages)
  })
})
