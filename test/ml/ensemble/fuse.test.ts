// Ensemble fusion on hand-made predictions: weighted box fusion with member weights (ensemble-boxes'
// conf_type avg, plus at most one box per member in a fused box), weighted means of none and study.
import { describe, expect, it } from 'vitest'
import { weightedBoxesFusion } from '../../../main/ml/detect/postprocess'
import { fuseImage, fuseMembers } from '../../../main/ml/ensemble/fuse'
import type { ImagePredictionRecord } from '../../../main/ml/predict/predict-images'

function image(
  boxes: Array<[number, number, number, number, number]>,
  none: number,
  typical = 0.25
): ImagePredictionRecord {
  return {
    imageId: 'img1',
    studyId: 'study1',
    path: 'test/study1/series/img1.dcm',
    width: 1000,
    height: 800,
    boxes: boxes.map(([x1, y1, x2, y2, confidence]) => ({ x1, y1, x2, y2, confidence })),
    none,
    studyProbs: { negative: 1 - typical - 0.2, typical, indeterminate: 0.1, atypical: 0.1 }
  }
}

const params = (weights: number[]) => ({
  weights,
  iouThreshold: 0.55,
  skipBoxThreshold: 0,
  maxDetections: 30
})

describe('ensemble fusion', () => {
  it('two members agreeing give one box at the score-weighted mean of their coordinates, keeping the score', () => {
    const fused = fuseImage(
      [image([[100, 100, 200, 200, 0.8]], 0.2), image([[110, 100, 210, 200, 0.8]], 0.4)],
      params([1, 1])
    )
    expect(fused.boxes).toHaveLength(1)
    const b = fused.boxes[0]
    expect([b.x1, b.y1, b.x2, b.y2]).toEqual([105, 100, 205, 200])
    expect(b.confidence).toBeCloseTo(0.8, 12)
    expect(fused.none).toBeCloseTo(0.3, 12)
  })

  it('members disagreeing keep both boxes, each at its score times its weight over the weight sum', () => {
    const fused = fuseImage(
      [image([[100, 100, 200, 200, 0.9]], 0.2), image([[500, 500, 600, 600, 0.6]], 0.5)],
      params([1, 1])
    )
    expect(fused.boxes.map((b) => [b.x1, b.confidence])).toEqual([
      [100, 0.45],
      [500, 0.3]
    ])
    const weighted = fuseImage(
      [image([[100, 100, 200, 200, 0.9]], 0.2), image([[500, 500, 600, 600, 0.6]], 0.5)],
      params([2, 1])
    )
    expect(weighted.boxes[0].confidence).toBeCloseTo((0.9 * 2) / 3, 12)
    expect(weighted.boxes[1].confidence).toBeCloseTo(0.6 / 3, 12)
  })

  it('weights pull the fused coordinates toward the heavier member, and weight none and study probabilities', () => {
    const members = [
      image([[100, 100, 200, 200, 0.5]], 0.1, 0.6),
      image([[120, 100, 220, 200, 0.5]], 0.7, 0.3)
    ]
    const even = fuseImage(members, params([1, 1])).boxes[0]
    const fused = fuseImage(members, params([3, 1]))
    const b = fused.boxes[0]
    expect(even.x1).toBeCloseTo(110, 9)
    // scores 0.5*3 and 0.5*1: x1 = (100*1.5 + 120*0.5) / 2
    expect(b.x1).toBeCloseTo(105, 9)
    expect(b.x2).toBeCloseTo(205, 9)
    // both found it: mean(1.5, 0.5) * 2 / 4 = the score
    expect(b.confidence).toBeCloseTo(0.5, 12)
    expect(fused.none).toBeCloseTo((0.1 * 3 + 0.7) / 4, 12)
    expect(fused.studyProbs.typical).toBeCloseTo((0.6 * 3 + 0.3) / 4, 12)
  })

  it('an ensemble of a member with itself returns its boxes exactly, even boxes overlapping each other', () => {
    const boxes: Array<[number, number, number, number, number]> = [
      [0, 0, 180, 280, 0.0103],
      [0, 0, 200, 300, 0.0103],
      [10, 20, 190, 290, 0.5],
      [600, 400, 700, 500, 0.2]
    ]
    const fused = fuseImage([image(boxes, 0.3), image(boxes, 0.3)], params([1, 1]))
    const sorted = (list: typeof fused.boxes) =>
      [...list]
        .sort((a, b) => b.confidence - a.confidence || a.x2 - b.x2)
        .map((b) => [b.x1, b.y1, b.x2, b.y2, b.confidence])
    expect(sorted(fused.boxes)).toEqual(sorted(image(boxes, 0.3).boxes))
  })

  it('an image one member lacks counts as no box from it, and study records are weighted means', () => {
    const a = {
      images: [image([[100, 100, 200, 200, 0.8]], 0.2)],
      studies: [],
      priors: { negative: 0.5, typical: 0.5, indeterminate: 0, atypical: 0 }
    }
    const b = {
      images: [],
      studies: [],
      priors: { negative: 0.1, typical: 0.9, indeterminate: 0, atypical: 0 }
    }
    const fused = fuseMembers([a, b], params([1, 3]))
    expect(fused.images[0].boxes[0].confidence).toBeCloseTo(0.2, 12)
    expect(fused.images[0].none).toBe(0.2)
    expect(fused.priors.negative).toBeCloseTo(0.2, 12)
  })

  it('refuses weights that do not match the members', () => {
    expect(() =>
      weightedBoxesFusion([{ boxes: [], scores: [], labels: [] }], {
        iouThreshold: 0.5,
        maxDetections: 1,
        weights: [1, 2]
      })
    ).toThrow(/2 weight\(s\) for 1 model/)
    expect(() => fuseMembers([], params([1]))).toThrow(/1 weight\(s\) for 0 member/)
  })
})
