import { describe, expect, it } from 'vitest'
import { applyPolicy, explainPolicy } from '../../main/core/dataset/policy'
import { box, buildDataset, imageRow, record, studyRow } from './build'

describe('merging files with the label CSVs', () => {
  const dataset = buildDataset({
    files: [
      record('train/s1/r1/i1b.dcm'),
      record('train/s1/r1/i1a.dcm'),
      record('test/t1/r9/it1.dcm'),
      record('train/s2/r2/i2.dcm')
    ],
    studyRows: [studyRow('s1', 'typical'), studyRow('s2', 'negative'), studyRow('s3', 'atypical')],
    imageRows: [
      imageRow('i1a', 's1', [box(10, 20, 30, 40)]),
      imageRow('i1b', 's1'),
      imageRow('i2', 's2'),
      imageRow('i4', 's4')
    ]
  })

  it('links each image row to its file and groups images by study', () => {
    const i1a = dataset.images.find((i) => i.imageId === 'i1a')!
    expect(i1a).toMatchObject({
      studyId: 's1',
      seriesId: 'r1',
      split: 'train',
      record: { path: 'train/s1/r1/i1a.dcm' }
    })
    expect(i1a.label?.boxes).toEqual([box(10, 20, 30, 40)])
    expect(dataset.studies.find((s) => s.studyId === 's1')).toMatchObject({
      split: 'train',
      label: { label: 'typical' },
      imageIds: ['i1a', 'i1b']
    })
  })

  it('takes the split from the top-level folder; test files have no labels', () => {
    const test = dataset.images.find((i) => i.imageId === 'it1')!
    expect(test).toMatchObject({ split: 'test', label: null })
    expect(dataset.studies.find((s) => s.studyId === 't1')?.split).toBe('test')
  })

  it('keeps a CSV row without a file as an image without a record, and a study row without images as an empty study', () => {
    expect(dataset.images.find((i) => i.imageId === 'i4')).toMatchObject({
      studyId: 's4',
      record: null,
      split: 'train'
    })
    expect(dataset.studies.find((s) => s.studyId === 's3')).toMatchObject({
      imageIds: [],
      label: { label: 'atypical' }
    })
  })

  it('tells a row whose file is broken from a row without a file', () => {
    const broken = buildDataset({
      files: [record('train/s1/r1/i1.dcm')],
      fileErrors: [{ path: 'train/s2/r7/i2.dcm', reason: 'truncated file' }],
      studyRows: [studyRow('s1', 'negative'), studyRow('s2', 'typical')],
      imageRows: [imageRow('i1', 's1'), imageRow('i2', 's2', [box(1, 2, 3, 4)]), imageRow('i3', 's2')]
    })
    expect(broken.images.find((i) => i.imageId === 'i2')).toMatchObject({
      record: null,
      seriesId: 'r7',
      fileError: { path: 'train/s2/r7/i2.dcm', reason: 'truncated file' }
    })
    expect(broken.images.find((i) => i.imageId === 'i3')?.fileError).toBeUndefined()
  })

  it('lists train before test, then by study and image id, and detects the Kaggle layout', () => {
    expect(dataset.images.map((i) => i.imageId)).toEqual(['i1a', 'i1b', 'i2', 'i4', 'it1'])
    expect(dataset.kaggleLayout).toBe(true)
    expect(dataset.labelFiles).toEqual({ study: 'train_study_level.csv', image: 'train_image_level.csv' })
  })

  it('treats a folder of DICOMs without CSVs as an unlabelled dataset', () => {
    const plain = buildDataset({
      files: [record('a/1.2.3/1.2.3.4/1.2.3.4.5.dcm')],
      studyRows: null,
      imageRows: null
    })
    expect(plain.kaggleLayout).toBe(false)
    expect(plain.labelFiles).toEqual({ study: null, image: null })
    expect(plain.images).toHaveLength(1)
    expect(applyPolicy(plain, 'keep-all')).toEqual([])
  })
})

describe('filter policies', () => {
  const dataset = buildDataset({
    files: [
      record('train/A/r/a1.dcm'),
      record('train/A/r/a2.dcm'),
      record('train/A/r/a3.dcm'),
      record('train/B/r/b2.dcm'),
      record('train/B/r/b1.dcm'),
      record('train/C/r/c1.dcm'),
      record('train/D/r/d2.dcm'),
      record('train/D/r/d1.dcm'),
      record('train/E/r/e1.dcm'), // no image row: never a candidate
      record('test/F/r/f1.dcm') // test: never a candidate
    ],
    studyRows: ['A', 'B', 'C', 'D', 'E', 'G'].map((s) => studyRow(s, s === 'B' ? 'negative' : 'typical')),
    imageRows: [
      imageRow('a1', 'A', [box(1, 1, 5, 5), box(10, 10, 5, 5)]),
      imageRow('a2', 'A'),
      imageRow('a3', 'A', [box(1, 1, 5, 5), box(10, 10, 5, 5), box(20, 20, 5, 5)]),
      imageRow('b1', 'B'),
      imageRow('b2', 'B'),
      imageRow('c1', 'C', [box(1, 1, 5, 5)]),
      imageRow('d1', 'D', [box(1, 1, 5, 5)]),
      imageRow('d2', 'D', [box(2, 2, 5, 5)]),
      imageRow('g1', 'G', [box(1, 1, 5, 5)]) // no file: never a candidate
    ]
  })
  const kept = (policy: Parameters<typeof applyPolicy>[1]) =>
    applyPolicy(dataset, policy).map((i) => i.imageId)

  it('keep-boxed keeps only boxed images of studies that have some, and every image of the others', () => {
    expect(kept('keep-boxed')).toEqual(['a1', 'a3', 'b1', 'b2', 'c1', 'd1', 'd2'])
    expect(explainPolicy(dataset, 'keep-boxed').dropped.map((d) => [d.image.imageId, d.reason])).toEqual([
      ['a2', 'no boxes; study A has 2 boxed image(s)']
    ])
  })

  it('keep-most-boxes keeps one image per study, the most boxed, ties to the smallest imageId', () => {
    expect(kept('keep-most-boxes')).toEqual(['a3', 'b1', 'c1', 'd1'])
    expect(explainPolicy(dataset, 'keep-most-boxes').dropped.map((d) => d.image.imageId)).toEqual([
      'a1',
      'a2',
      'b2',
      'd2'
    ])
  })

  it('keep-all keeps every labelled train image that has a file', () => {
    expect(kept('keep-all')).toEqual(['a1', 'a2', 'a3', 'b1', 'b2', 'c1', 'd1', 'd2'])
  })

  it('defaults to keep-boxed', () => {
    expect(applyPolicy(dataset)).toEqual(applyPolicy(dataset, 'keep-boxed'))
  })
})
