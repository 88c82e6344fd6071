// Submission rows made from COCO results: the study rule, boxes cut at the border, the ids written.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { writeCocoSubmission } from '../../main/core/submission/from-coco'
import { parseSubmissionCsv } from '../../main/core/submission/submission-csv'
import { makeDataset } from '../export/fixtures'

let work: string
let root: string
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'cxr-from-coco-'))
  root = join(work, 'kaggle')
  mkdirSync(root)
})
afterEach(() => rmSync(work, { recursive: true, force: true }))

// s1 (typical): i1 with a box, i2 without; s2 (negative): i3; all 1000 x 800
const dataset = () =>
  makeDataset(root, [
    {
      studyId: 's1',
      cls: 'typical',
      images: [
        { imageId: 'i1', width: 1000, height: 800, boxes: [{ x: 10, y: 10, width: 100, height: 100 }] },
        { imageId: 'i2', width: 1000, height: 800, boxes: [] }
      ]
    },
    { studyId: 's2', cls: 'negative', images: [{ imageId: 'i3', width: 1000, height: 800, boxes: [] }] }
  ])

const images = [
  { id: 1, file_name: 'i1.png', width: 500, height: 400 },
  { id: 2, file_name: 'i2.png', width: 500, height: 400 },
  { id: 3, file_name: 'i3.png', width: 500, height: 400 }
]

/** Writes the COCO file and the results; returns the submission rows as id -> class -> confidences. */
async function submit(categories: string[], results: object[]) {
  writeFileSync(
    join(work, 'images.json'),
    JSON.stringify({ images, categories: categories.map((name, i) => ({ id: i + 1, name })) })
  )
  writeFileSync(join(work, 'results.json'), JSON.stringify(results))
  const outcome = await writeCocoSubmission({
    cocoPath: join(work, 'results.json'),
    imagesJson: join(work, 'images.json'),
    dataset: dataset(),
    ids: 'coco',
    outPath: join(work, 'submission.csv')
  })
  const rows = parseSubmissionCsv(readFileSync(join(work, 'submission.csv'), 'utf8')).rows
  const confidences = (id: string, cls: string) =>
    rows
      .find((r) => r.id === id)!
      .detections.filter((d) => d.cls === cls)
      .map((d) => d.confidence)
  return { outcome, rows, confidences }
}

describe('a submission from COCO results', () => {
  it('opacity boxes: negative = 1 - the mean best box score of the study, positives share the rest by training frequency', async () => {
    const { rows, confidences, outcome } = await submit(
      ['opacity'],
      [
        { image_id: 1, category_id: 1, bbox: [5, 5, 50, 50], score: 0.8 },
        { image_id: 1, category_id: 1, bbox: [100, 100, 50, 50], score: 0.3 },
        { image_id: 3, category_id: 1, bbox: [10, 10, 20, 20], score: 0.2 }
      ]
    )
    expect(rows.map((r) => r.id)).toEqual(['s1_study', 's2_study', 'i1_image', 'i2_image', 'i3_image'])
    expect(outcome).toMatchObject({ studies: 2, images: 3, filled: [], kind: 'results' })
    // s1: mean(0.8, 0) = 0.4; the training labels are half typical, half negative
    expect(confidences('s1_study', 'negative')[0]).toBeCloseTo(0.6, 12)
    expect(confidences('s1_study', 'typical')[0]).toBeCloseTo(0.4, 12)
    expect(confidences('s1_study', 'atypical')).toEqual([0])
    expect(confidences('s2_study', 'negative')[0]).toBeCloseTo(0.8, 12)
    // image rows: boxes back in DICOM pixels (x2), none = 1 - best
    expect(rows.find((r) => r.id === 'i1_image')!.detections[0]).toMatchObject({
      x1: 10,
      y1: 10,
      x2: 110,
      y2: 110
    })
    expect(confidences('i1_image', 'none')[0]).toBeCloseTo(0.2, 12)
    expect(confidences('i2_image', 'none')).toEqual([1])
  })

  it('study-class boxes (coco --categories study): each positive class from its own boxes', async () => {
    const { confidences } = await submit(
      ['negative', 'typical', 'indeterminate', 'atypical'],
      [
        { image_id: 1, category_id: 2, bbox: [5, 5, 50, 50], score: 0.8 },
        { image_id: 1, category_id: 4, bbox: [5, 5, 50, 50], score: 0.4 },
        { image_id: 3, category_id: 3, bbox: [10, 10, 20, 20], score: 0.2 }
      ]
    )
    expect(confidences('s1_study', 'negative')[0]).toBeCloseTo(0.6, 12)
    expect(confidences('s1_study', 'typical')[0]).toBeCloseTo(0.4, 12)
    expect(confidences('s1_study', 'atypical')[0]).toBeCloseTo(0.2, 12)
    expect(confidences('s1_study', 'indeterminate')).toEqual([0])
    expect(confidences('s2_study', 'indeterminate')[0]).toBeCloseTo(0.2, 12)
    expect(confidences('s2_study', 'negative')[0]).toBeCloseTo(0.8, 12)
  })

  it('cuts boxes at the image border and drops those wholly outside, counting both', async () => {
    const { rows, outcome } = await submit(
      ['opacity'],
      [
        { image_id: 3, category_id: 1, bbox: [480, 390, 40, 40], score: 0.7 },
        { image_id: 3, category_id: 1, bbox: [600, 10, 40, 40], score: 0.6 }
      ]
    )
    expect(outcome).toMatchObject({ clippedBoxes: 1, droppedBoxes: 1 })
    expect(rows.find((r) => r.id === 'i3_image')!.detections).toEqual([
      { cls: 'opacity', confidence: 0.7, x1: 960, y1: 780, x2: 1000, y2: 800 },
      { cls: 'none', confidence: expect.closeTo(0.3, 12), x1: 0, y1: 0, x2: 1, y2: 1 }
    ])
  })
})
