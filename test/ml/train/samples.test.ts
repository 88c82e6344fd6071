// Which validation images a run shows after every epoch: a fixed, seeded few per study class.
import { describe, expect, it } from 'vitest'
import { STUDY_CLASSES, type StudyClass } from '../../../common/domain'
import { seededRng, shuffled } from '../../../main/ml/data/random'
import type { ImageSample } from '../../../main/ml/data/samples'
import { pickSampleImages } from '../../../main/ml/train/samples'

/** Five studies per class (the first with two images) and two unlabelled studies. */
function validationSplit(): ImageSample[] {
  const samples: ImageSample[] = []
  const add = (studyId: string, imageId: string, studyClass: StudyClass | null) =>
    samples.push({
      imageId,
      studyId,
      relPath: `train/${studyId}/s/${imageId}.dcm`,
      absPath: `/data/train/${studyId}/s/${imageId}.dcm`,
      width: 512,
      height: 512,
      fileSize: 1,
      mtimeMs: 0,
      boxes: [],
      studyClass
    })
  for (const cls of STUDY_CLASSES) {
    for (let k = 0; k < 5; k++) {
      add(`${cls}-study${k}`, `${cls}-image${k}a`, cls)
      if (k === 0) add(`${cls}-study${k}`, `${cls}-image${k}b`, cls)
    }
  }
  add('unlabelled-1', 'unlabelled-image1', null)
  add('unlabelled-2', 'unlabelled-image2', null)
  return samples
}

const ids = (samples: ImageSample[]) => samples.map((s) => s.imageId)

describe('pickSampleImages', () => {
  it('takes two images of each study class, from different studies, none of an unlabelled study', () => {
    const picked = pickSampleImages(validationSplit(), 42)
    expect(picked).toHaveLength(8)
    for (const cls of STUDY_CLASSES) {
      const ofClass = picked.filter((s) => s.studyClass === cls)
      expect(ofClass).toHaveLength(2)
      expect(new Set(ofClass.map((s) => s.studyId)).size).toBe(2)
    }
  })

  it('picks the same images whatever the order of the split, and others for another seed', () => {
    const split = validationSplit()
    const picked = ids(pickSampleImages(split, 42))
    for (let k = 0; k < 5; k++)
      expect(ids(pickSampleImages(shuffled(split, seededRng('test', k)), 42))).toEqual(picked)
    const otherSeeds = [1, 2, 3, 4, 5].map((seed) => ids(pickSampleImages(split, seed)))
    expect(otherSeeds.some((other) => other.join() !== picked.join())).toBe(true)
  })

  it('takes what a small split has: fewer images, no class without images', () => {
    const split = validationSplit().filter(
      (s) => s.studyId === 'typical-study0' || s.studyId === 'atypical-study3'
    )
    const picked = pickSampleImages(split, 42)
    expect(picked.map((s) => s.studyClass)).toEqual(['typical', 'atypical'])
  })
})
