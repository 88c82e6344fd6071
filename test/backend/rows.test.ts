// The studies list the back end sends: unreadable files as rows of their own, flags from the same
// findings as the quality list, and the held-out truth of a test split.
import { describe, expect, it } from 'vitest'
import { DatasetSession } from '../../main/backend/datasets/session'
import type { TestTruth } from '../../main/core/dataset'
import { FileReadError } from '../../main/core/errors'
import { parseImageCsv, parseStudyCsv } from '../../main/core/labels'
import { qualityReport, type PixelDecoder } from '../../main/core/quality'
import { box, buildDataset, imageCsvText, imageRow, record, studyCsvText, studyRow } from '../dataset/build'

const NOT_DICOM = 'not a DICOM file: only 8 bytes, no DICM marker at byte 128'
const LONG_REASON = `truncated file: pixel data needs 552384 bytes, file ends 2200 bytes after its start${' …'.repeat(40)}`

// A Kaggle folder with broken files beside its images, and three broken files outside the layout.
const dataset = buildDataset({
  files: [
    record('train/S1/r/I1.dcm'),
    record('train/S2/r/I2a.dcm'),
    record('train/S2/r/I2b.dcm'),
    record('test/T1/r/IT1.dcm'),
    record('test/T2/r/IT2.dcm')
  ],
  fileErrors: [
    { path: 'train/S1/r/broken.dcm', reason: LONG_REASON }, // in study S1, which has one image
    { path: 'train/S3/r/I3.dcm', reason: NOT_DICOM }, // the file of a CSV row
    { path: 'stray.dcm', reason: NOT_DICOM },
    { path: 'scans/a/b/scan.dcm', reason: NOT_DICOM },
    { path: 'scans/c/scan.dcm', reason: NOT_DICOM } // same name as the one above
  ],
  studyRows: [studyRow('S1', 'typical'), studyRow('S2', 'negative'), studyRow('S3', 'atypical')],
  imageRows: [
    imageRow('I1', 'S1', [box(10, 10, 100, 100)]),
    imageRow('I2a', 'S2'),
    imageRow('I2b', 'S2'),
    imageRow('I3', 'S3')
  ]
})

const rowsOf = (session: DatasetSession) => session.imageRows()
const byPath = (session: DatasetSession, path: string) => rowsOf(session).filter((row) => row.path === path)

describe('unreadable files in the studies list', () => {
  const session = new DatasetSession(dataset, '/tmp/cxr-ws')

  it('lists each unreadable file once, as its own row labelled unreadable with its reason', () => {
    for (const error of dataset.fileErrors) {
      const rows = byPath(session, error.path)
      expect(rows, error.path).toHaveLength(1)
      expect(rows[0]).toMatchObject({ error: error.reason, excluded: false })
      expect(rows[0].flags).toContain('unreadable-file')
    }
  })

  it('gives a broken file only the study its Kaggle path names, and counts it in no study', () => {
    expect(byPath(session, 'train/S1/r/broken.dcm')[0]).toMatchObject({ studyId: 'S1', studyImages: null })
    // S1's readable image is the only image of S1, as the multi-image-study rule counts
    expect(byPath(session, 'train/S1/r/I1.dcm')[0].studyImages).toBe(1)
    expect(byPath(session, 'train/S2/r/I2a.dcm')[0].studyImages).toBe(2)
    for (const path of ['stray.dcm', 'scans/a/b/scan.dcm', 'scans/c/scan.dcm'])
      expect(byPath(session, path)[0], path).toMatchObject({ studyId: '', seriesId: '', studyImages: null })
  })

  it("lists a CSV row whose file is broken with that file's reason, not as a missing file", () => {
    const rows = rowsOf(session).filter((row) => row.imageId === 'I3')
    expect(rows).toEqual([
      expect.objectContaining({ path: 'train/S3/r/I3.dcm', error: NOT_DICOM, labelled: true, studyImages: 1 })
    ])
  })

  it('gives files of the same name distinct ids, each opening its own file', () => {
    const ids = rowsOf(session).map((row) => row.imageId)
    expect(new Set(ids).size).toBe(ids.length)
    for (const path of ['scans/a/b/scan.dcm', 'scans/c/scan.dcm']) {
      const { imageId } = byPath(session, path)[0]
      expect(() => session.file(imageId)).toThrow(FileReadError)
      try {
        session.file(imageId)
      } catch (err) {
        expect((err as FileReadError).path).toBe(path)
      }
    }
  })
})

describe('flags of the studies list', () => {
  // I2a and IT1 share their pixels; IT2 cannot be decoded
  const pool: PixelDecoder = {
    async decode(absPath, relPath) {
      if (absPath.endsWith('IT2.dcm')) throw new FileReadError(relPath!, 'unsupported transfer syntax 1.2.3')
      const same = absPath.endsWith('I2a.dcm') || absPath.endsWith('IT1.dcm')
      // every other file decodes to pixels of its own: its path
      const pixels = Uint16Array.from(same ? 'same' : absPath, (c) => c.charCodeAt(0))
      return { pixels, rows: 1, columns: pixels.length }
    }
  }

  /** The rows a finding of the report names (by path, or by imageId for a CSV row without a file). */
  const named = (session: DatasetSession, report: Awaited<ReturnType<typeof qualityReport>>) => {
    const paths = new Set(report.issues.flatMap((issue) => issue.path ?? []))
    const ids = new Set(report.issues.flatMap((issue) => (issue.path ? [] : (issue.imageId ?? []))))
    return rowsOf(session)
      .filter((row) => (row.path !== null && paths.has(row.path)) || ids.has(row.imageId))
      .map((row) => row.imageId)
      .sort()
  }
  const flagged = (session: DatasetSession) =>
    rowsOf(session)
      .filter((row) => row.flags.length > 0)
      .map((row) => row.imageId)
      .sort()

  it('flags exactly the images the quality list names, the pixel findings included once they ran', async () => {
    const session = new DatasetSession(dataset, '/tmp/cxr-ws')
    const labelsOnly = await qualityReport(dataset)
    session.recordQuality(labelsOnly)
    expect(flagged(session)).toEqual(named(session, labelsOnly))

    const withPixels = await qualityReport(dataset, { pool })
    session.recordQuality(withPixels)
    expect(flagged(session)).toEqual(named(session, withPixels))
    expect(byPath(session, 'test/T1/r/IT1.dcm')[0].flags).toContain('pixel-identical')
    expect(byPath(session, 'test/T2/r/IT2.dcm')[0].flags).toEqual(['unreadable-file'])

    // the quick report the Data page asks for first does not take the pixel findings away again
    session.recordQuality(labelsOnly)
    expect(byPath(session, 'test/T1/r/IT1.dcm')[0].flags).toContain('pixel-identical')
  })
})

describe('ground truth of test images', () => {
  const truth: TestTruth = {
    studies: new Map(
      parseStudyCsv(studyCsvText([studyRow('T1', 'indeterminate')]), 'test_study_level.csv').labels.map(
        (l) => [l.studyId, l]
      )
    ),
    images: new Map(
      parseImageCsv(
        imageCsvText([imageRow('IT1', 'T1', [box(5, 6, 70, 80)])]),
        'test_image_level.csv'
      ).labels.map((l) => [l.imageId, l])
    ),
    problems: []
  }

  it('shows the held-out truth of a test image when the folder has it', () => {
    const rows = new DatasetSession(dataset, '/tmp/cxr-ws', truth).imageRows()
    expect(rows.find((row) => row.imageId === 'IT1')).toMatchObject({
      split: 'test',
      labelled: true,
      studyLabel: 'indeterminate',
      boxes: [{ x: 5, y: 6, width: 70, height: 80 }]
    })
    // a test image the truth files do not name has no truth
    expect(rows.find((row) => row.imageId === 'IT2')).toMatchObject({ labelled: false, studyLabel: null })
    // train rows keep the train labels
    expect(rows.find((row) => row.imageId === 'I1')).toMatchObject({ labelled: true, studyLabel: 'typical' })
  })

  it('leaves test images without truth when the folder has none', () => {
    const rows = new DatasetSession(dataset, '/tmp/cxr-ws').imageRows()
    expect(rows.find((row) => row.imageId === 'IT1')).toMatchObject({
      labelled: false,
      boxes: [],
      studyLabel: null
    })
  })
})
