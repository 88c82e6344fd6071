import { availableParallelism } from 'node:os'
import { describe, expect, it } from 'vitest'
import {
  EPOCHS_UNTIL_TIME_LIMIT,
  resolveTrainConfig,
  resumeConfig,
  type TrainArgs
} from '../../../main/ml/train/config'
import { learningRate } from '../../../main/ml/train/schedule'

const base: TrainArgs = { dataset: '/data', out: '/run', workspace: '/ws' }

describe('training configuration', () => {
  it('picks defaults by initialisation and records why', () => {
    const random = resolveTrainConfig(base)
    expect(random.lr).toBe(1e-2)
    expect(random.strategy).toEqual({ kind: 'no_freeze' })
    expect(random.detector.batchNormMomentum).toBe(0.9)
    expect(random.defaults.lr).toContain('random initialisation')
    const pretrained = resolveTrainConfig({ ...base, pretrained: '/m/model.json' })
    expect(pretrained.lr).toBe(1e-4)
    expect(pretrained.strategy).toEqual({ kind: 'freeze_unfreeze', epoch: 10 })
    expect(pretrained.detector.batchNormMomentum).toBe(0.99)
    expect(resolveTrainConfig({ ...base, lr: 3e-3 }).defaults.lr).toBeUndefined()
  })

  it('says how many threads an unset --threads gets (chosen with the backend) and keeps a given one', () => {
    const unset = resolveTrainConfig(base)
    expect(unset.threads).toBeNull()
    const expected = availableParallelism() >= 2 ? /^2 \(two cores share each batch/ : /^1 \(one core\)/
    expect(unset.defaults.threads).toMatch(expected)
    const one = resolveTrainConfig({ ...base, threads: 1 })
    expect(one.threads).toBe(1)
    expect(one.defaults.threads).toBeUndefined()
  })

  it('with --time-limit and no --epochs, trains until the clock and decays the rate by it', () => {
    const config = resolveTrainConfig({ ...base, timeLimitMinutes: 15 })
    expect(config.epochs).toBe(EPOCHS_UNTIL_TIME_LIMIT)
    expect(config.defaults.epochs).toContain('until the time limit')
    expect(resolveTrainConfig({ ...base, timeLimitMinutes: 15, epochs: 12 }).epochs).toBe(12)
    expect(resolveTrainConfig(base).epochs).toBe(30)
    // the step count is tiny against the cap, so the clock drives the cosine to its floor
    const options = { lr: 1e-2, warmupSteps: 5, totalSteps: 5 * EPOCHS_UNTIL_TIME_LIMIT, minLrRatio: 0.01 }
    expect(learningRate(100, options, 0.5)).toBeCloseTo(1e-2 * (0.01 + 0.99 * 0.5), 8)
    expect(learningRate(100, options, 1)).toBeCloseTo(1e-4, 8)
  })

  it('a run that trains until its time limit needs a new limit (or epochs) to resume', () => {
    const saved = resolveTrainConfig({ ...base, timeLimitMinutes: 15 })
    expect(() => resumeConfig(saved, { ...base, resume: true })).toThrow(/--time-limit/)
    expect(resumeConfig(saved, { ...base, resume: true, timeLimitMinutes: 5 }).timeLimitMinutes).toBe(5)
    expect(resumeConfig(saved, { ...base, resume: true, epochs: 40 }).epochs).toBe(40)
  })

  it('refuses to change the model or the optimizer when resuming', () => {
    const saved = resolveTrainConfig(base)
    expect(() => resumeConfig(saved, { ...base, resume: true, head: 'fcos' })).toThrow(/--head cannot change/)
    expect(() => resumeConfig(saved, { ...base, resume: true, lr: 0.5 })).toThrow(/--lr cannot change/)
    expect(resumeConfig(saved, { ...base, resume: true, lr: 1e-2 }).lr).toBe(1e-2)
  })
})
