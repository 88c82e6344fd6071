import { describe, expect, it } from 'vitest'
import { computeEda } from '../../main/core/eda'
import { box, buildDataset, imageRow, record, studyRow } from '../dataset/build'

// Every expected number below was counted by hand from these rows and files.
const dataset = buildDataset({
  files: [
    record('train/A/r/a1.dcm', { rows: 2000, columns: 2500, bitsStored: 12 }),
    record('train/A/r/a2.dcm', {
      rows: 3000,
      columns: 2000,
      bitsStored: 16,
      photometric: 'MONOCHROME1',
      transferSyntaxUid: '1.2.840.10008.1.2.4.80'
    }),
    record('train/B/r/b1.dcm', {
      rows: 2500,
      columns: 2500,
      bitsStored: 12,
      transferSyntaxUid: '1.2.840.10008.1.2.4.90'
    }),
    record('train/D/r/d1.dcm', { rows: 1000, columns: 1000, bitsStored: 10 }),
    record('test/T/r/t1.dcm', { rows: 2048, columns: 2048, bitsStored: 16 })
  ],
  fileErrors: [{ path: 'train/Z/r/z1.dcm', reason: 'truncated file' }],
  studyRows: [
    studyRow('A', 'typical'),
    studyRow('B', 'negative'),
    studyRow('C', 'atypical'),
    studyRow('D', 'indeterminate'),
    studyRow('E', 'typical'), // no image rows
    'F_study,0,1,1,0' // not one-hot: class unknown
  ],
  imageRows: [
    imageRow('a1', 'A', [box(0, 0, 100, 50), box(10, 10, 20, 20)]),
    imageRow('a2', 'A'),
    imageRow('b1', 'B'),
    imageRow('c1', 'C'), // no file
    imageRow('d1', 'D', [box(0, 0, 30, 40)]),
    imageRow('f1', 'F', [box(0, 0, 10, 10)]), // no file
    imageRow('x1', 'X') // no file, no study row
  ]
})

describe('EDA on a constructed dataset', () => {
  const eda = computeEda(dataset)

  it('counts studies as rows of train_study_level.csv, by class', () => {
    expect(eda.studies).toEqual({
      total: 6,
      negative: 1,
      typical: 2,
      indeterminate: 1,
      atypical: 1,
      notOneHot: 1
    })
  })

  it('counts images as rows of train_image_level.csv, with and without boxes', () => {
    expect(eda.images).toEqual({ total: 7, withBoxes: 3, withoutBoxes: 4 })
    expect(eda.positivesWithoutBoxes).toEqual({ images: 2, studies: 1 })
  })

  it('histograms boxes per image by study class and images per study', () => {
    expect(eda.boxesPerImage).toEqual({
      negative: { 0: 1 },
      typical: { 0: 1, 2: 1 },
      indeterminate: { 1: 1 },
      atypical: { 0: 1 },
      unknown: { 0: 1, 1: 1 }
    })
    expect(eda.imagesPerStudy).toEqual({ 0: 1, 1: 4, 2: 1 })
    expect(JSON.stringify(eda.imagesPerStudy)).toBe('{"0":1,"1":4,"2":1}')
  })

  it('summarises box sizes in pixels and as a fraction of the image', () => {
    expect(eda.boxes).toMatchObject({
      total: 4,
      width: { min: 10, median: 25, max: 100, mean: 40 },
      height: { min: 10, median: 30, max: 50, mean: 30 },
      area: { min: 100, median: 800, max: 5000, mean: 1675 }
    })
    // f1 has no file, so only three boxes have an image size: 400/5e6, 5000/5e6, 1200/1e6
    expect(eda.boxes.areaFraction).toMatchObject({ min: 0.00008, median: 0.001, max: 0.0012 })
    expect(eda.boxes.areaFraction!.mean).toBeCloseTo(0.00076, 10)
  })

  it('describes the DICOM header mix of the readable files', () => {
    expect(eda.files).toEqual({ total: 5, train: 4, test: 1, unreadable: 1 })
    expect(eda.imageSize.rows).toMatchObject({ min: 1000, median: 2048, max: 3000 })
    expect(eda.imageSize.columns).toMatchObject({ min: 1000, median: 2048, max: 2500 })
    expect(eda.imageSize.rowsHistogram).toEqual({
      '512-1023': 1,
      '1536-2047': 1,
      '2048-2559': 2,
      '2560-3071': 1
    })
    expect(eda.bitsStored).toEqual({ 10: 1, 12: 2, 16: 2 })
    expect(eda.photometric).toEqual({ MONOCHROME2: 4, MONOCHROME1: 1 })
    expect(eda.transferSyntax).toEqual([
      { uid: '1.2.840.10008.1.2.1', name: 'Explicit VR Little Endian', count: 3 },
      { uid: '1.2.840.10008.1.2.4.80', name: 'JPEG-LS Lossless', count: 1 },
      { uid: '1.2.840.10008.1.2.4.90', name: 'JPEG 2000 Lossless', count: 1 }
    ])
  })

  it('gives zeros and empty summaries for an unlabelled folder', () => {
    const plain = computeEda(
      buildDataset({ files: [record('x/1/2/3.dcm')], studyRows: null, imageRows: null })
    )
    expect(plain.studies.total).toBe(0)
    expect(plain.images).toEqual({ total: 0, withBoxes: 0, withoutBoxes: 0 })
    expect(plain.boxes).toEqual({ total: 0, width: null, height: null, area: null, areaFraction: null })
    expect(plain.files.total).toBe(1)
  })
})
