import { describe, expect, it } from 'vitest'
import { STUDY_CLASSES, type StudyClass } from '../../common/domain'
import {
  foldsByStudy,
  splitByStudy,
  stratumCounts,
  studyStratum,
  valCount
} from '../../main/core/export/split'
import { makeDataset, randomDataset, type StudySpec } from './fixtures'

const dataset = randomDataset('/data/kaggle', 600, 3)

describe('splitByStudy', () => {
  it('never puts one study in both splits and loses no image', () => {
    const { train, val } = splitByStudy(dataset.images, dataset.studies, { valFraction: 0.2, seed: 42 })
    const trainStudies = new Set(train.map((i) => i.studyId))
    expect(val.filter((i) => trainStudies.has(i.studyId))).toEqual([])
    expect(train.length + val.length).toBe(dataset.images.length)
    // multi-image studies exist in the fixture, so the property is really exercised
    expect(dataset.studies.some((s) => s.imageIds.length > 1)).toBe(true)
  })

  it('puts the requested fraction of each study class in validation, within one study', () => {
    const { valStudyIds } = splitByStudy(dataset.images, dataset.studies, { valFraction: 0.2, seed: 42 })
    for (const cls of STUDY_CLASSES) {
      const inClass = dataset.studies.filter((s) => studyStratum(s) === cls)
      const inVal = inClass.filter((s) => valStudyIds.has(s.studyId)).length
      expect(inClass.length).toBeGreaterThan(20)
      expect(Math.abs(inVal - inClass.length * 0.2)).toBeLessThanOrEqual(1)
    }
  })

  it('is deterministic per seed, whatever the input order, and changes with the seed', () => {
    const ids = (seed: number, images = dataset.images) =>
      [...splitByStudy(images, dataset.studies, { valFraction: 0.2, seed }).valStudyIds].sort()
    expect(ids(42)).toEqual(ids(42))
    expect(ids(42, [...dataset.images].reverse())).toEqual(ids(42))
    expect(ids(7)).not.toEqual(ids(42))
  })

  it('rejects a validation fraction outside [0, 1)', () => {
    expect(() => splitByStudy(dataset.images, dataset.studies, { valFraction: 1, seed: 1 })).toThrow(
      'validation fraction'
    )
    expect(splitByStudy(dataset.images, dataset.studies, { valFraction: 0, seed: 1 }).val).toEqual([])
  })
})

/** A dataset with `counts[cls]` one-image studies of each class (and `unlabelled` studies without a label). */
function classDataset(counts: Partial<Record<StudyClass | 'unlabelled', number>>) {
  const specs: StudySpec[] = []
  for (const [cls, n] of Object.entries(counts)) {
    for (let i = 0; i < (n ?? 0); i++) {
      const studyId = `${cls}-${String(i).padStart(3, '0')}`
      specs.push({
        studyId,
        cls: cls === 'unlabelled' ? null : (cls as StudyClass),
        images: [{ imageId: `${studyId}-img`, width: 100, height: 100, boxes: [] }]
      })
    }
  }
  return makeDataset('/data/classes', specs)
}

function valPerStratum(data: ReturnType<typeof classDataset>, options: Parameters<typeof splitByStudy>[2]) {
  const { valStudyIds } = splitByStudy(data.images, data.studies, options)
  return stratumCounts(data.images, data.studies, valStudyIds).val
}

describe('valCount: the validation floor per class', () => {
  it('raises round(n x fraction) to the floor, to at most a quarter of the class, never the last study', () => {
    expect(valCount(10, 0.1, 4)).toBe(2) // 1 by the fraction, the floor capped at a quarter of 10
    expect(valCount(16, 0.1, 4)).toBe(4) // exactly 4N: the whole floor
    expect(valCount(40, 0.1, 4)).toBe(4) // the fraction and the floor agree
    expect(valCount(20, 0.1, 4)).toBe(4) // 2 by the fraction, raised to the floor
    expect(valCount(7, 0.1, 4)).toBe(1) // a quarter of 7, rounded down
    expect(valCount(3, 0.1, 4)).toBe(1) // round(0.3) = 0, raised to one study
    expect(valCount(3, 0.1, 0)).toBe(0) // no floor: the fraction alone
    expect(valCount(2, 0.1, 4)).toBe(1)
    expect(valCount(1, 0.1, 4)).toBe(0) // a class's only study trains
    expect(valCount(1, 0.9, 0)).toBe(0) // even when the fraction would take it
    expect(valCount(2, 0.9, 0)).toBe(1)
    expect(valCount(0, 0.1, 4)).toBe(0)
    expect(valCount(100, 0.1, 4)).toBe(10) // the fraction wins on large classes
    expect(valCount(15, 0.1, 0)).toBe(2) // no floor: round(1.5) as before
    expect(valCount(10, 0, 4)).toBe(0) // --val-fraction 0: no validation at all
  })

  it('applies the floor per study class, leaves unlabelled studies to the fraction, and counts per class', () => {
    const data = classDataset({ negative: 10, typical: 7, indeterminate: 1, unlabelled: 10 })
    const val = valPerStratum(data, { valFraction: 0.1, seed: 42, valMinPerClass: 4 })
    expect(val).toEqual({ indeterminate: 0, negative: 2, typical: 1, unlabelled: 1 })
    const { valStudyIds } = splitByStudy(data.images, data.studies, {
      valFraction: 0.1,
      seed: 42,
      valMinPerClass: 4
    })
    expect(stratumCounts(data.images, data.studies, valStudyIds).train).toEqual({
      indeterminate: 1,
      negative: 8,
      typical: 6,
      unlabelled: 9
    })
    // without a floor, the old split: round(10 x 0.1) = 1, round(0.7) = 1
    expect(valPerStratum(data, { valFraction: 0.1, seed: 42 })).toEqual({
      indeterminate: 0,
      negative: 1,
      typical: 1,
      unlabelled: 1
    })
  })

  it('is deterministic per seed and the floor only adds studies to the unfloored split', () => {
    const data = classDataset({ negative: 30, typical: 20, atypical: 9 })
    const ids = (seed: number, valMinPerClass: number) =>
      [
        ...splitByStudy(data.images, data.studies, { valFraction: 0.1, seed, valMinPerClass }).valStudyIds
      ].sort()
    expect(ids(5, 4)).toEqual(ids(5, 4))
    expect(ids(6, 4)).not.toEqual(ids(5, 4))
    expect(ids(5, 4)).toHaveLength(4 + 4 + 2) // atypical 9: a quarter is 2
    for (const id of ids(5, 0)) expect(ids(5, 4)).toContain(id)
  })

  it('rejects a negative or fractional floor', () => {
    const data = classDataset({ negative: 4 })
    expect(() =>
      splitByStudy(data.images, data.studies, { valFraction: 0.1, seed: 1, valMinPerClass: -1 })
    ).toThrow('validation minimum per class')
  })
})

describe('foldsByStudy: stratified k-fold by study', () => {
  it('puts every study in exactly one fold, each class spread within one study per fold', () => {
    for (const folds of [2, 3, 5]) {
      const foldOf = foldsByStudy(dataset.images, dataset.studies, { folds, seed: 42 })
      const studyIds = new Set(dataset.images.map((i) => i.studyId))
      expect([...foldOf.keys()].sort()).toEqual([...studyIds].sort())
      for (const cls of [...STUDY_CLASSES, 'unlabelled']) {
        const perFold = Array.from({ length: folds }, () => 0)
        for (const s of dataset.studies)
          if (studyStratum(s) === cls && foldOf.has(s.studyId)) perFold[foldOf.get(s.studyId)!]++
        expect(Math.max(...perFold) - Math.min(...perFold)).toBeLessThanOrEqual(1)
      }
      const sizes = Array.from(
        { length: folds },
        (_, f) => [...foldOf.values()].filter((v) => v === f).length
      )
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1)
    }
  })

  it('validates on one fold and trains on the others; the folds cover the dataset once', () => {
    const seen = new Set<string>()
    for (let index = 0; index < 4; index++) {
      const { train, val, valStudyIds } = splitByStudy(dataset.images, dataset.studies, {
        valFraction: 0.1,
        seed: 3,
        valMinPerClass: 4,
        fold: { count: 4, index }
      })
      expect(train.length + val.length).toBe(dataset.images.length)
      for (const id of valStudyIds) {
        expect(seen.has(id)).toBe(false)
        seen.add(id)
      }
    }
    expect(seen.size).toBe(new Set(dataset.images.map((i) => i.studyId)).size)
  })

  it('is deterministic per seed and refuses a fold outside the partition', () => {
    const a = foldsByStudy(dataset.images, dataset.studies, { folds: 3, seed: 9 })
    const b = foldsByStudy([...dataset.images].reverse(), dataset.studies, { folds: 3, seed: 9 })
    expect([...a].sort()).toEqual([...b].sort())
    expect([...foldsByStudy(dataset.images, dataset.studies, { folds: 3, seed: 10 })].sort()).not.toEqual(
      [...a].sort()
    )
    expect(() =>
      splitByStudy(dataset.images, dataset.studies, {
        valFraction: 0.1,
        seed: 1,
        fold: { count: 3, index: 3 }
      })
    ).toThrow('fold must be in 0..2')
    expect(() => foldsByStudy(dataset.images, dataset.studies, { folds: 1, seed: 1 })).toThrow(
      'folds must be'
    )
  })
})
