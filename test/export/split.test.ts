import { describe, expect, it } from 'vitest'
import { STUDY_CLASSES } from '../../common/domain'
import { splitByStudy, studyStratum } from '../../main/core/export/split'
import { randomDataset } from './fixtures'

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
