import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { FileReadError } from '../../main/core/errors'
import { qualityReport, type QualityRule } from '../../main/core/quality'
import type { PixelDecoder } from '../../main/core/quality/pixel-hashes'
import { box, buildDataset, imageRow, record, studyRow } from '../dataset/build'

// One constructed train set in which every label rule fires exactly where the comments say.
const dataset = buildDataset({
  files: [
    record('train/S1/r/I1a.dcm'), // typical, boxed
    record('train/S1/r/I1b.dcm'), // typical, no boxes: unlabelled duplicate + positive image without boxes
    record('train/S2/r/I2.dcm'), // atypical, no boxes: positive image and study without boxes
    record('train/S3/r/I3.dcm'), // negative with a box
    record('train/S4/r/I4.dcm', { rows: 1000, columns: 800 }), // zero-area box + box outside
    record('train/S5/r/I5.dcm'), // no image row
    record('train/S8/r/I8.dcm'), // no study row
    record('train/S9/r/I9.dcm'), // row says study S9x
    record('train/S10/r/I10.dcm'),
    record('train/S11/r/I10.dcm'), // same imageId in another study
    record('test/T1/r/IT1.dcm') // test files need no rows
  ],
  fileErrors: [{ path: 'train/S12/r/I12.dcm', reason: 'not a DICOM file (no DICM prefix)' }],
  studyRows: [
    studyRow('S1', 'typical'),
    studyRow('S2', 'atypical'),
    studyRow('S3', 'negative'),
    studyRow('S4', 'indeterminate'),
    studyRow('S5', 'negative'),
    studyRow('S6', 'negative'),
    studyRow('S7', 'typical'), // no images at all
    studyRow('S9', 'negative'),
    studyRow('S10', 'negative'),
    studyRow('S11', 'negative'),
    studyRow('S12', 'negative')
  ],
  imageRows: [
    imageRow('I1a', 'S1', [box(100, 100, 200, 300)]),
    imageRow('I1b', 'S1'),
    imageRow('I2', 'S2'),
    imageRow('I3', 'S3', [box(10, 10, 50, 50)]),
    imageRow('I4', 'S4', [box(10, 10, 0, 50), box(700, 900, 200, 100.2)]),
    imageRow('I6', 'S6'), // no file
    imageRow('I8', 'S8'),
    imageRow('I9', 'S9x'),
    imageRow('I10', 'S10'),
    'Ibad_image,"[{\'x\': 1",none 1 0 0 1 1,S1', // malformed literal (line 11)
    imageRow('I12', 'S12') // its file exists but is unreadable: not a row without a file
  ]
})

describe('quality rules on a constructed dataset', async () => {
  const report = await qualityReport(dataset)
  const byRule = (rule: QualityRule) => report.issues.filter((i) => i.rule === rule)
  const images = (rule: QualityRule) => byRule(rule).map((i) => i.imageId)

  it('reports malformed CSV rows as file:line and unreadable files with their reason', () => {
    expect(byRule('malformed-csv-row').map((i) => i.message)).toEqual([
      "train_image_level.csv:11: boxes: expected ',' or '}' in dict, found end of text at column 9"
    ])
    expect(byRule('unreadable-file')).toMatchObject([
      {
        path: 'train/S12/r/I12.dcm',
        severity: 'error',
        message: 'train/S12/r/I12.dcm: not a DICOM file (no DICM prefix)'
      }
    ])
  })

  it("finds the organisers' unlabelled duplicates and multi-image studies", () => {
    expect(images('unlabelled-duplicate')).toEqual(['I1b'])
    expect(byRule('unlabelled-duplicate')[0].message).toBe(
      'train/S1/r/I1b.dcm: no boxes; boxed in the same study: I1a'
    )
    expect(byRule('multi-image-study').map((i) => i.studyId)).toEqual(['S1'])
  })

  it('finds positive images and studies without boxes, and negative studies with boxes', () => {
    expect(images('positive-image-without-boxes')).toEqual(['I1b', 'I2'])
    expect(byRule('positive-study-without-boxes').map((i) => i.studyId)).toEqual(['S2'])
    expect(images('negative-study-with-boxes')).toEqual(['I3'])
  })

  it('finds zero-area boxes and boxes reaching outside the DICOM rows x columns', () => {
    expect(byRule('zero-area-box').map((i) => i.message)).toEqual([
      'train/S4/r/I4.dcm: box 1 has width 0 and height 50'
    ])
    expect(byRule('box-outside-image').map((i) => i.message)).toEqual([
      'train/S4/r/I4.dcm: box 2 reaches 100 px beyond the right edge (width 800)'
    ]) // the bottom edge is 0.2 px over: within tolerance
  })

  it('cross-checks rows against files and studies', () => {
    expect(images('csv-row-without-file')).toEqual(['I6']) // not I12, whose file is unreadable
    // the second I10 file has no row of its own (studies list in string order: S11 before S5)
    expect(byRule('file-without-csv-row').map((i) => i.path)).toEqual([
      'train/S11/r/I10.dcm',
      'train/S5/r/I5.dcm'
    ])
    expect(byRule('study-row-without-images').map((i) => i.studyId)).toEqual(['S7'])
    expect(images('image-without-study-row')).toEqual(['I8'])
    expect(byRule('study-mismatch').map((i) => i.message)).toEqual([
      'train/S9/r/I9.dcm: train_image_level.csv:9 gives StudyInstanceUID S9x, the file is in study S9'
    ])
    expect(byRule('duplicate-image-id').map((i) => i.path)).toEqual([
      'train/S10/r/I10.dcm',
      'train/S11/r/I10.dcm'
    ])
  })

  it('counts issues per rule and says the pixel rule did not run without a decoder', () => {
    expect(report.counts['positive-image-without-boxes']).toBe(2)
    expect(report.counts['pixel-identical']).toBe(0)
    expect(Object.values(report.counts).reduce((a, b) => a + b, 0)).toBe(report.issues.length)
    expect(report.bySeverity.error + report.bySeverity.warning + report.bySeverity.info).toBe(
      report.issues.length
    )
    expect(report.pixelCheck.ran).toBe(false)
  })

  it('lists what each policy would drop', () => {
    expect(report.policy).toBe('keep-boxed')
    expect(report.policies['keep-boxed'].dropped.map((d) => d.imageId)).toEqual(['I1b'])
    expect(report.policies['keep-most-boxes'].dropped.map((d) => d.imageId)).toEqual(['I1b'])
    // labelled train images with a file: I1a I1b I2 I3 I4 I8 I9 I10
    expect(report.policies['keep-all']).toEqual({ kept: 8, dropped: [] })
    expect(report.policies['keep-boxed'].kept).toBe(7)
  })

  it('reports nothing for a clean dataset', async () => {
    const clean = buildDataset({
      files: [record('train/A/r/a.dcm'), record('train/B/r/b.dcm')],
      studyRows: [studyRow('A', 'typical'), studyRow('B', 'negative')],
      imageRows: [imageRow('a', 'A', [box(1, 1, 10, 10)]), imageRow('b', 'B')]
    })
    expect((await qualityReport(clean)).issues).toEqual([])
  })
})

describe('pixel-identical images', () => {
  const pixels: Record<string, number[]> = {
    'train/P1/r/p1.dcm': [1, 2, 3, 4],
    'train/P1/r/p2.dcm': [1, 2, 3, 4], // same pixels, same study
    'train/P2/r/p3.dcm': [1, 2, 3, 5],
    'test/P9/r/p4.dcm': [1, 2, 3, 5], // same as p3 across train/test
    'train/P3/r/p5.dcm': [9, 9, 9, 9, 9, 9] // unique size: never decoded
  }
  const sized = (path: string) => record(path, { rows: 2, columns: pixels[path].length / 2 })
  const files = Object.keys(pixels).map(sized)
  const data = buildDataset({ files, studyRows: null, imageRows: null })
  const decoder = () => {
    const decoded: string[] = []
    const pool: PixelDecoder = {
      async decode(absPath) {
        const path = absPath.slice('/data/cxr/'.length)
        decoded.push(path)
        return { pixels: Uint16Array.from(pixels[path]), rows: 2, columns: pixels[path].length / 2 }
      }
    }
    return { pool, decoded }
  }
  let workspace = ''
  afterAll(async () => {
    if (workspace) await rm(workspace, { recursive: true, force: true })
  })

  it('groups identical pixels, decoding only images that share a size, and caches the hashes', async () => {
    workspace = await mkdtemp(join(tmpdir(), 'cxr-quality-'))
    const first = decoder()
    const report = await qualityReport(data, { pool: first.pool, workspace })
    expect(first.decoded.sort()).toEqual([
      'test/P9/r/p4.dcm',
      'train/P1/r/p1.dcm',
      'train/P1/r/p2.dcm',
      'train/P2/r/p3.dcm'
    ])
    expect(report.issues.filter((i) => i.rule === 'pixel-identical').map((i) => i.message)).toEqual([
      'train/P1/r/p1.dcm: same pixels as train/P1/r/p2.dcm (same study)',
      'train/P1/r/p2.dcm: same pixels as train/P1/r/p1.dcm (same study)',
      'train/P2/r/p3.dcm: same pixels as test/P9/r/p4.dcm (train and test: leakage)',
      'test/P9/r/p4.dcm: same pixels as train/P2/r/p3.dcm (train and test: leakage)'
    ])
    expect(report.pixelCheck).toEqual({ ran: true, candidates: 4, decoded: 4, cached: 0, identicalGroups: 2 })

    const second = decoder()
    const again = await qualityReport(data, { pool: second.pool, workspace })
    expect(second.decoded).toEqual([])
    expect(again.pixelCheck).toMatchObject({ decoded: 0, cached: 4, identicalGroups: 2 })

    // A file changed on disk (new mtime) is decoded again.
    const touched = buildDataset({
      files: files.map((f) => (f.path === 'train/P1/r/p2.dcm' ? { ...f, mtimeMs: 2 } : f)),
      studyRows: null,
      imageRows: null
    })
    const third = decoder()
    await qualityReport(touched, { pool: third.pool, workspace })
    expect(third.decoded).toEqual(['train/P1/r/p2.dcm'])
  })

  it('turns a decode failure into an unreadable-file issue and checks the rest', async () => {
    const failing: PixelDecoder = {
      async decode(absPath, relPath) {
        // as DecodePool does: the error names the relative path and the reason
        if (absPath.endsWith('p1.dcm'))
          throw new FileReadError(relPath!, 'unsupported transfer syntax 1.2.840.10008.1.2.4.100')
        const path = absPath.slice('/data/cxr/'.length)
        return { pixels: Uint16Array.from(pixels[path]), rows: 2, columns: 2 }
      }
    }
    const report = await qualityReport(data, { pool: failing })
    expect(report.issues.filter((i) => i.rule === 'unreadable-file').map((i) => i.message)).toEqual([
      'train/P1/r/p1.dcm: pixels cannot be decoded: unsupported transfer syntax 1.2.840.10008.1.2.4.100'
    ])
    expect(report.pixelCheck.identicalGroups).toBe(1)
  })
})
