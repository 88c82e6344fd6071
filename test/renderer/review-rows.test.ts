import { describe, expect, it } from 'vitest'
import type { ImageRow, PredictionTable } from '../../common/contract'
import {
  defaultReviewFilters,
  orderRows,
  predictedClassOf,
  reviewRows
} from '../../renderer/src/predictions/review-rows'

function row(imageId: string, studyId: string, extra: Partial<ImageRow> = {}): ImageRow {
  return {
    imageId,
    studyId,
    seriesId: 's',
    split: 'test',
    path: `test/${studyId}/s/${imageId}.dcm`,
    rows: 1000,
    columns: 1000,
    bitsStored: 12,
    photometric: 'MONOCHROME2',
    transferSyntaxUid: '1.2.840.10008.1.2.1',
    studyLabel: null,
    labelled: false,
    boxes: [],
    studyImages: 1,
    flags: [],
    excluded: false,
    error: null,
    ...extra
  }
}

const probs = (negative: number, typical: number, indeterminate: number, atypical: number) => ({
  negative,
  typical,
  indeterminate,
  atypical
})

// a: found its box (agrees); b: missed its box and the study class is wrong; c: one false alarm;
// d: no truth at all; e: not in the layer
const rows = [
  row('a', 'A', {
    labelled: true,
    studyLabel: 'typical',
    boxes: [{ x: 10, y: 10, width: 100, height: 100 }]
  }),
  row('b', 'B', {
    labelled: true,
    studyLabel: 'typical',
    boxes: [{ x: 10, y: 10, width: 100, height: 100 }]
  }),
  row('c', 'C', { labelled: true, studyLabel: 'negative' }),
  row('d', 'D'),
  row('e', 'E', { labelled: true, studyLabel: 'negative' })
]
const table: PredictionTable = {
  layer: null,
  images: [
    { imageId: 'a', boxes: [[12, 11, 108, 112, 0.9]], none: 0.05 },
    { imageId: 'b', boxes: [[500, 500, 600, 600, 0.2]], none: 0.7 },
    { imageId: 'c', boxes: [[300, 300, 400, 400, 0.6]], none: 0.3 },
    { imageId: 'd', boxes: [[1, 1, 50, 50, 0.95]], none: 0.1 }
  ],
  studies: [
    { studyId: 'A', probabilities: probs(0.1, 0.6, 0.2, 0.1) },
    { studyId: 'B', probabilities: probs(0.7, 0.1, 0.1, 0.1) },
    { studyId: 'C', probabilities: probs(0.5, 0.3, 0.1, 0.1) },
    { studyId: 'D', probabilities: probs(0.2, 0.2, 0.2, 0.4) }
  ]
}

describe('the studies list against the prediction layer', () => {
  const reviews = reviewRows(rows, table, 0.3)

  it('counts TP/FP/FN at the threshold where the image has truth, and nothing where it has none', () => {
    expect(reviews.get('a')).toMatchObject({
      tp: 1,
      fp: 0,
      fn: 0,
      predictedClass: 'typical',
      studyWrong: false
    })
    // b's only box (0.2) is below the threshold: its truth box is missed
    expect(reviews.get('b')).toMatchObject({ tp: 0, fp: 0, fn: 1, shown: 0, topScore: 0.2, studyWrong: true })
    expect(reviews.get('c')).toMatchObject({ tp: 0, fp: 1, fn: 0, studyWrong: false })
    expect(reviews.get('d')).toMatchObject({ tp: null, fp: null, fn: null, hasTruth: false, shown: 1 })
    expect(reviews.get('e')).toMatchObject({ predicted: false, tp: null, topScore: null })
  })

  it('sorts misses and false alarms first, then a wrong study class, keeping file order on ties', () => {
    const sorted = orderRows(rows, reviews, defaultReviewFilters(), 'disagreement').map((r) => r.imageId)
    // b: 1 error + wrong class; c: 1 error; a: 0 errors; d and e: not reviewed
    expect(sorted).toEqual(['b', 'c', 'a', 'd', 'e'])
  })

  it('sorts by the most confident opacity box and by study-class confidence', () => {
    expect(orderRows(rows, reviews, defaultReviewFilters(), 'confidence').map((r) => r.imageId)).toEqual([
      'd',
      'a',
      'c',
      'b',
      'e'
    ])
    expect(orderRows(rows, reviews, defaultReviewFilters(), 'study-uncertain').map((r) => r.imageId)).toEqual(
      ['d', 'c', 'a', 'b', 'e']
    )
  })

  it('filters by predicted class, confidence and agreement', () => {
    const ids = (filters: Partial<ReturnType<typeof defaultReviewFilters>>) =>
      orderRows(rows, reviews, { ...defaultReviewFilters(), ...filters }, 'file').map((r) => r.imageId)
    expect(ids({ predictedClass: 'negative' })).toEqual(['b', 'c'])
    expect(ids({ minConfidence: 0.6 })).toEqual(['a', 'c', 'd'])
    expect(ids({ agreement: 'misses' })).toEqual(['b'])
    expect(ids({ agreement: 'false-alarms' })).toEqual(['c'])
    expect(ids({ agreement: 'disagree' })).toEqual(['b', 'c'])
    expect(ids({ agreement: 'study-wrong' })).toEqual(['b'])
    expect(ids({ agreement: 'agree' })).toEqual(['a'])
    expect(ids({ agreement: 'no-truth' })).toEqual(['d'])
  })

  it('moves with the threshold: a lower one turns the miss of b into a false alarm plus a miss', () => {
    expect(reviewRows(rows, table, 0.1).get('b')).toMatchObject({ tp: 0, fp: 1, fn: 1 })
  })

  it('takes the most probable study class, the first in class order on a tie', () => {
    expect(predictedClassOf(probs(0.25, 0.25, 0.25, 0.25))).toEqual({ cls: 'negative', probability: 0.25 })
    expect(predictedClassOf(null)).toBeNull()
  })
})
