import { describe, expect, it } from 'vitest'
import { TRAINING_PRESETS } from '../../common/training'
import {
  defaultHints,
  defaultNote,
  emptyForm,
  errorsByField,
  formFromSettings,
  parseDefault,
  placeholderOf,
  settingsFromForm
} from '../../renderer/src/training/settings-form'

describe('training settings form', () => {
  it('turns every preset into a form and back into the same settings', () => {
    for (const preset of TRAINING_PRESETS) {
      const { form, extra } = formFromSettings(preset.settings)
      const result = settingsFromForm(form, extra)
      expect(result.errors).toEqual([])
      expect(result.settings).toEqual(preset.settings)
    }
  })

  it('sends nothing for empty fields, so the back end defaults apply', () => {
    expect(settingsFromForm(emptyForm())).toEqual({ settings: {}, raw: {}, errors: [] })
  })

  it('names the field of each problem with the contract schema’s rules', () => {
    const form = {
      ...emptyForm(),
      imageSize: '16',
      lr: 'fast',
      strategy: 'freeze_unfreeze:x',
      threads: '2',
      valFraction: '1'
    }
    const { settings, errors, raw } = settingsFromForm(form)
    expect(settings).toBeNull()
    const byField = errorsByField(errors)
    expect(Object.keys(byField).sort()).toEqual(['imageSize', 'lr', 'strategy', 'valFraction'])
    expect(byField.lr[0]).toBe('"fast" is not a number')
    expect(byField.strategy[0]).toContain('freeze_unfreeze:x: unknown strategy')
    // what parses still goes to the back end's check
    expect(raw).toMatchObject({ imageSize: 16, threads: 2, valFraction: 1 })
  })

  it('checks the run name as the back end does', () => {
    expect(errorsByField(settingsFromForm(emptyForm(), {}, 'my run/1').errors).name).toHaveLength(1)
    expect(settingsFromForm(emptyForm(), {}, 'quick-look_2').errors).toEqual([])
  })

  it('merges the client’s and the back end’s messages per field, each once', () => {
    const merged = errorsByField(
      [{ field: 'threads', message: 'too many' }],
      [
        { field: 'threads', message: 'too many' },
        { field: 'settings', message: 'EfficientDet needs a multiple of 128' }
      ]
    )
    expect(merged).toEqual({ threads: ['too many'], settings: ['EfficientDet needs a multiple of 128'] })
  })

  it('reads the default and its reason as config.json records them', () => {
    expect(parseDefault('0.01 (random initialisation with adamw)')).toEqual({
      value: '0.01',
      why: 'random initialisation with adamw'
    })
    expect(parseDefault('"keep-boxed" (the organisers\' duplicate rule)')).toEqual({
      value: 'keep-boxed',
      why: "the organisers' duplicate rule"
    })
    expect(parseDefault('plain')).toEqual({ value: 'plain', why: '' })
  })

  it('shows an unset field the default it takes and why, and nothing once it is set', () => {
    const hints = defaultHints({
      lr: '0.01 (random initialisation with adamw)',
      epochs: '100000 (until the time limit)',
      seed: '0 (default)',
      batchSize: '8 (8 images fit in memory)'
    })
    const form = emptyForm()
    expect(placeholderOf('lr', form, hints)).toBe('0.01')
    expect(placeholderOf('threads', form, hints)).toBe('default')
    expect(defaultNote('lr', form, hints)).toBe('default 0.01: random initialisation with adamw')
    expect(defaultNote('seed', form, hints)).toBe('default 0')
    expect(defaultNote('batchSize', form, hints)).toBe('default: 8 images fit in memory')
    expect(defaultNote('epochs', form, hints)).toBe('default: until the time limit')
    expect(defaultNote('threads', form, hints)).toBe('')
    expect(defaultNote('lr', { ...form, lr: '0.1' }, hints)).toBe('')
    expect(placeholderOf('epochs', { ...form, timeLimitMinutes: '5' }, hints)).toBe('until the time limit')
  })
})
