import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Progress } from '../../common/domain'
import { STUDY_CLASSES, STUDY_CSV_COLUMNS } from '../../common/domain'
import { decodeFile } from '../../main/core/dicom/decode'
import { WRITE_SYNTAXES } from '../../main/core/dicom/write'
import { DEMO_DEFAULTS, generateDemo, uidFromId, type DemoSummary } from '../../main/core/demo'
import { planDemo } from '../../main/core/demo/plan'
import { renderStoredPixels } from '../../main/core/demo/render'
import { UserError } from '../../main/core/errors'
import {
  PYTHON,
  dcmdumpProblems,
  missingTools,
  readWithPydicom,
  runTool,
  type PydicomImage
} from '../dicom-write/tools'
import { listFiles, parseKaggleBoxes, parseKaggleLabel, readCsv } from './helpers'

const skipReason = missingTools()
if (skipReason) console.warn(`demo DICOM checks skipped: ${skipReason}`)

const HEX12 = /^[0-9a-f]{12}$/
const DICOM_PATH = /^(train|test)\/([0-9a-f]{12})\/([0-9a-f]{12})\/([0-9a-f]{12})\.dcm$/
const DEMO_SYNTAXES = [
  'explicit-le',
  'implicit-le',
  'explicit-be',
  'deflated',
  'rle',
  'jpeg-ls-lossless',
  'j2k-lossless',
  'jpeg-baseline'
] as const

interface DemoFile {
  path: string
  split: 'train' | 'test'
  studyId: string
  seriesId: string
  imageId: string
}

let root: string
let summary: DemoSummary
const progress: Progress[] = []
let files: DemoFile[]

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'cxr-demo-'))
  summary = await generateDemo(root, { onProgress: (p) => progress.push(p) })
  files = listFiles(root)
    .filter((f) => f.endsWith('.dcm'))
    .map((path) => {
      const [, split, studyId, seriesId, imageId] = DICOM_PATH.exec(path) ?? []
      return { path, split: split as DemoFile['split'], studyId, seriesId, imageId }
    })
})
afterAll(() => rmSync(root, { recursive: true, force: true }))

/** image id -> its row of an image-level CSV: boxes parsed strictly from the Kaggle literal. */
function imageRows(split: 'train' | 'test') {
  const { header, rows } = readCsv(join(root, `${split}_image_level.csv`))
  expect(header).toEqual(['id', 'boxes', 'label', 'StudyInstanceUID'])
  return new Map(
    rows.map(([id, boxes, label, studyId]) => [
      id.replace(/_image$/, ''),
      { id, boxesText: boxes, boxes: parseKaggleBoxes(boxes), label, studyId }
    ])
  )
}

function studyClasses(split: 'train' | 'test'): Map<string, string> {
  const { header, rows } = readCsv(join(root, `${split}_study_level.csv`))
  expect(header).toEqual(['id', ...STUDY_CSV_COLUMNS])
  return new Map(
    rows.map((row) => {
      expect(row[0]).toMatch(/^[0-9a-f]{12}_study$/)
      expect(
        row.slice(1).every((v) => v === '0' || v === '1'),
        row.join(',')
      ).toBe(true)
      expect(
        row.slice(1).filter((v) => v === '1'),
        `${row[0]} is not one-hot`
      ).toHaveLength(1)
      return [row[0].slice(0, 12), STUDY_CLASSES[row.slice(1).indexOf('1')]]
    })
  )
}

describe('the default demo dataset (Kaggle layout and label files)', () => {
  it('holds the Kaggle files, the test truth and a README, and DICOMs only at train|test/<study>/<series>/<image>.dcm', () => {
    const all = listFiles(root)
    expect(all.filter((f) => !f.endsWith('.dcm'))).toEqual([
      'README.txt',
      'sample_submission.csv',
      'test_image_level.csv',
      'test_study_level.csv',
      'train_image_level.csv',
      'train_study_level.csv'
    ])
    for (const file of files) expect(file.path).toMatch(DICOM_PATH)
    expect(files.filter((f) => f.split === 'train')).toHaveLength(summary.splits.train.images)
    expect(files.filter((f) => f.split === 'test')).toHaveLength(summary.splits.test.images)
    expect(new Set(files.map((f) => f.imageId)).size).toBe(files.length)
    const readme = readFileSync(join(root, 'README.txt'), 'utf8')
    expect(readme).toContain('test_study_level.csv')
    expect(readme).toContain('test_image_level.csv')
  })

  it('has 40 train and 12 test studies by default, every class present, sizes between 320 and 640 and modest in bytes', () => {
    expect(summary.splits.train.studies).toBe(40)
    expect(summary.splits.test.studies).toBe(12)
    for (const c of STUDY_CLASSES) {
      expect(summary.splits.train.studiesPerClass[c]).toBeGreaterThanOrEqual(5)
      expect(summary.splits.test.studiesPerClass[c]).toBeGreaterThanOrEqual(1)
    }
    const onDisk = listFiles(root).reduce((sum, f) => sum + statSync(join(root, f)).size, 0)
    expect(summary.bytes).toBe(onDisk)
    expect(onDisk).toBeLessThan(30e6)
    expect(summary.files).toBe(listFiles(root).length)
    expect(progress.at(-1)).toEqual({ stage: 'demo images', done: files.length, total: files.length })
  })

  it('is byte-identical to the default demo before the hard variant was added (one hash over every file)', () => {
    // recorded with the generator of commit 422dd4b (before `demo --hard`): adding the hard variant
    // must not change a byte of the default demo, whose files tests and users already hold
    const hash = createHash('sha256')
    for (const path of listFiles(root))
      hash.update(
        `${path}\0${createHash('sha256')
          .update(readFileSync(join(root, path)))
          .digest('hex')}\n`
      )
    expect(hash.digest('hex')).toBe('c02ddcc589eb2126106836c407091b30d1746e46caa52e7e4f377f30aa37df1f')
  })

  for (const split of ['train', 'test'] as const) {
    it(`${split}: one one-hot study row per study folder and one image row per DICOM, labels matching boxes`, () => {
      const classes = studyClasses(split)
      const splitFiles = files.filter((f) => f.split === split)
      expect([...classes.keys()].sort()).toEqual([...new Set(splitFiles.map((f) => f.studyId))].sort())

      const rows = imageRows(split)
      expect([...rows.keys()].sort()).toEqual(splitFiles.map((f) => f.imageId).sort())
      for (const file of splitFiles) {
        const row = rows.get(file.imageId)!
        expect(row.studyId, file.path).toBe(file.studyId)
        const corners = parseKaggleLabel(row.label)
        expect(corners.length, `${file.path}: label and boxes disagree`).toBe(row.boxes.length)
        if (row.boxes.length === 0) {
          expect(row.boxesText).toBe('')
          expect(row.label).toBe('none 1 0 0 1 1')
        }
        row.boxes.forEach((box, i) => {
          const [x1, y1, x2, y2] = corners[i]
          expect(x1).toBe(box.x)
          expect(y1).toBe(box.y)
          expect(Math.abs(x2 - (box.x + box.width))).toBeLessThan(1e-4)
          expect(Math.abs(y2 - (box.y + box.height))).toBeLessThan(1e-4)
          expect(box.width).toBeGreaterThan(5)
          expect(box.height).toBeGreaterThan(5)
        })
        if (classes.get(file.studyId) === 'negative')
          expect(row.boxes, `${file.path} is negative`).toEqual([])
      }
    })
  }

  it('writes boxes exactly like Kaggle: Python dict literals with floats, quoted in the CSV', () => {
    const text = readFileSync(join(root, 'train_image_level.csv'), 'utf8')
    const lines = text.trimEnd().split('\n')
    expect(text.endsWith('\n')).toBe(true)
    const boxed = lines.filter((l) => l.includes("[{'x': "))
    expect(boxed.length).toBe(summary.splits.train.imagesWithBoxes)
    for (const line of boxed)
      expect(line).toMatch(
        /^[0-9a-f]{12}_image,"\[\{'x': \d+\.\d+, 'y': \d+\.\d+, 'width': \d+\.\d+, 'height': \d+\.\d+\}(, \{[^}]+\})*\]",(opacity 1( \d+\.\d+){4} ?)+,[0-9a-f]{12}$/
      )
    for (const line of lines.filter((l) => !l.includes('[{')))
      expect(line).toMatch(
        /^(id,boxes,label,StudyInstanceUID|[0-9a-f]{12}_image,,none 1 0 0 1 1,[0-9a-f]{12})$/
      )
  })

  it('sample_submission.csv: every test study row first, then every test image row, matching the test truth ids', () => {
    const { header, rows } = readCsv(join(root, 'sample_submission.csv'))
    expect(header).toEqual(['id', 'PredictionString'])
    const testStudies = [...studyClasses('test').keys()].sort()
    const testImages = [...imageRows('test').keys()].sort()
    const studyRows = rows.slice(0, testStudies.length)
    const imageRowsOfSubmission = rows.slice(testStudies.length)
    expect(studyRows.map(([id]) => id.replace(/_study$/, '')).sort()).toEqual(testStudies)
    expect(
      studyRows.every(([id, prediction]) => id.endsWith('_study') && prediction === 'negative 1 0 0 1 1')
    ).toBe(true)
    expect(imageRowsOfSubmission.map(([id]) => id.replace(/_image$/, '')).sort()).toEqual(testImages)
    expect(
      imageRowsOfSubmission.every(
        ([id, prediction]) => id.endsWith('_image') && prediction === 'none 1 0 0 1 1'
      )
    ).toBe(true)
    expect(testImages).toEqual(
      files
        .filter((f) => f.split === 'test')
        .map((f) => f.imageId)
        .sort()
    )
  })

  it('reproduces the quirks: an unboxed duplicate next to its boxed original, an unboxed positive, a study with several images', () => {
    const train = imageRows('train')
    const classes = studyClasses('train')
    const duplicate = summary.quirks.duplicates.find((d) => d.split === 'train')!
    const original = files.find((f) => f.imageId === duplicate.boxedImageId)!
    const copy = files.find((f) => f.imageId === duplicate.duplicateImageId)!
    expect(original.studyId).toBe(copy.studyId)
    expect(original.seriesId).not.toBe(copy.seriesId)
    expect(train.get(original.imageId)!.boxes.length).toBeGreaterThan(0)
    expect(train.get(copy.imageId)!.label).toBe('none 1 0 0 1 1')

    const unboxed = summary.quirks.positiveWithoutBoxes[0]
    expect(classes.get(unboxed.studyId)).not.toBe('negative')
    expect(train.get(unboxed.imageId)!.label).toBe('none 1 0 0 1 1')

    const several = summary.quirks.multiImageStudies.find((m) => m.imageIds.length >= 3)!
    expect(files.filter((f) => f.studyId === several.studyId)).toHaveLength(several.imageIds.length)
    const boxCounts = several.imageIds.map((id) => train.get(id)!.boxes.length)
    expect(boxCounts.filter((n) => n > 0).length).toBeGreaterThanOrEqual(1)
    expect(boxCounts).toContain(0)
  })
})

describe.skipIf(skipReason !== null)('the default demo DICOMs, checked with dcmtk, gdcm and pydicom', () => {
  let headers: Map<string, PydicomImage>
  let nativeDir: string
  /** image id -> the file decoded to explicit VR little endian by gdcm. */
  const native = new Map<string, string>()
  let decodedCache: PydicomImage[] | null = null
  /** pydicom's reading of every gdcm-decoded file, in the order of `files`. */
  const decodedAll = () => (decodedCache ??= readWithPydicom(files.map((f) => native.get(f.imageId)!)))

  beforeAll(() => {
    headers = new Map(
      readWithPydicom(
        files.map((f) => join(root, f.path)),
        { pixels: false }
      ).map((h) => [h.path, h])
    )
    nativeDir = mkdtempSync(join(tmpdir(), 'cxr-demo-native-'))
    for (const file of files) {
      const out = join(nativeDir, `${file.imageId}.dcm`)
      const result = runTool('gdcmconv', ['--raw', join(root, file.path), out])
      if (result.status !== 0) throw new Error(`gdcmconv --raw ${file.path}: ${result.stderr}`)
      native.set(file.imageId, out)
    }
  })
  afterAll(() => rmSync(nativeDir, { recursive: true, force: true }))

  it('every file parses with dcmdump without a warning', () => {
    for (const file of files) expect(dcmdumpProblems(join(root, file.path)), file.path).toBeNull()
  })

  it('UIDs in the files follow the folder ids, and the required mix of formats and syntaxes is present', () => {
    const syntaxByUid = new Map(Object.entries(WRITE_SYNTAXES).map(([name, s]) => [s.uid as string, name]))
    const used = new Set<string>()
    for (const file of files) {
      const header = headers.get(join(root, file.path))!
      expect(header.error, file.path).toBeUndefined()
      expect([header.studyInstanceUid, header.seriesInstanceUid, header.sopInstanceUid], file.path).toEqual([
        uidFromId(file.studyId),
        uidFromId(file.seriesId),
        uidFromId(file.imageId)
      ])
      expect(header.patientId).toMatch(HEX12)
      expect(header.rows).toBeGreaterThanOrEqual(320)
      expect(header.rows).toBeLessThanOrEqual(640)
      expect(header.columns).toBeGreaterThanOrEqual(320)
      expect(header.columns).toBeLessThanOrEqual(640)
      expect(header.rows).not.toBe(header.columns)
      used.add(syntaxByUid.get(header.transferSyntax)!)
      if (syntaxByUid.get(header.transferSyntax) === 'jpeg-baseline') expect(header.bitsAllocated).toBe(8)
    }
    expect([...used].sort()).toEqual([...DEMO_SYNTAXES].sort())
    const all = [...headers.values()]
    expect(all.some((h) => h.bitsAllocated === 16 && h.bitsStored === 12)).toBe(true)
    expect(all.some((h) => h.bitsAllocated === 8)).toBe(true)
    expect(all.some((h) => h.photometric === 'MONOCHROME1')).toBe(true)
    expect(all.some((h) => h.photometric === 'MONOCHROME2')).toBe(true)
    expect(all.some((h) => h.windowCenter !== null) && all.some((h) => h.windowCenter === null)).toBe(true)
    expect(
      all.some((h) => h.rescaleSlope !== null && (h.rescaleSlope !== 1 || h.rescaleIntercept !== 0))
    ).toBe(true)
  })

  it('the duplicate decodes to exactly the pixels of its boxed original, and no other two images are identical', () => {
    const duplicate = summary.quirks.duplicates.find((d) => d.split === 'train')!
    const decoded = decodedAll()
    const byImage = new Map(files.map((f, i) => [f.imageId, decoded[i]]))
    const a = byImage.get(duplicate.boxedImageId)!
    const b = byImage.get(duplicate.duplicateImageId)!
    expect(a.pixels!.length).toBe(b.pixels!.length)
    expect(Buffer.from(a.pixels!.buffer).equals(Buffer.from(b.pixels!.buffer))).toBe(true)
    const signatures = new Set(decoded.map((d) => Buffer.from(d.pixels!.buffer).toString('base64')))
    expect(signatures.size).toBe(files.length - summary.quirks.duplicates.length)
  })

  it('opacities are where the CSV boxes are: every box is brighter (after MONOCHROME1 inversion) than the lungs outside the boxes', () => {
    const items = (['train', 'test'] as const).flatMap((split) =>
      [...imageRows(split).entries()]
        .filter(([, row]) => row.boxes.length > 0)
        .map(([imageId, row]) => ({ path: native.get(imageId)!, boxes: row.boxes }))
    )
    expect(items.length).toBe(summary.splits.train.imagesWithBoxes + summary.splits.test.imagesWithBoxes)
    const contrast = runTool(
      PYTHON,
      [join(import.meta.dirname, 'opacity_contrast.py')],
      JSON.stringify(items)
    )
    expect(contrast.status, contrast.stderr).toBe(0)
    const measured = JSON.parse(contrast.stdout) as Array<{
      path: string
      boxes: Array<{ inside: number; lung: number }>
    }>
    const margins = measured.flatMap((image) => image.boxes.map((box) => box.inside - box.lung))
    expect(margins.length).toBe(summary.splits.train.boxes + summary.splits.test.boxes)
    for (const [i, image] of measured.entries()) {
      for (const box of image.boxes)
        expect(box.inside - box.lung, `${items[i].path}: box not brighter than the lungs`).toBeGreaterThan(
          0.08
        )
    }
  })

  it('the opacities change exactly the pixels inside the CSV boxes (file decoded by gdcm, compared with the same image rendered without them)', () => {
    const plan = planDemo(DEMO_DEFAULTS.seed, DEMO_DEFAULTS.studies, DEMO_DEFAULTS.testStudies)
    const decoded = decodedAll()
    let checked = 0
    for (const split of ['train', 'test'] as const) {
      for (const [imageId, row] of imageRows(split)) {
        const image = plan.images.find((i) => i.imageId === imageId)!
        if (row.boxes.length === 0 || WRITE_SYNTAXES[image.syntax].lossy) continue
        const fileIndex = files.findIndex((f) => f.imageId === imageId)
        const written = decoded[fileIndex].pixels!
        const plain = renderStoredPixels(DEMO_DEFAULTS.seed, { ...image, opacities: [] }).pixels
        const inBox = (x: number, y: number) =>
          row.boxes.some(
            (b) => x + 0.5 > b.x && x + 0.5 < b.x + b.width && y + 0.5 > b.y && y + 0.5 < b.y + b.height
          )
        let outside = 0
        let changedInside = 0
        let inside = 0
        for (let y = 0; y < image.rows; y++) {
          for (let x = 0; x < image.columns; x++) {
            const changed = written[y * image.columns + x] !== plain[y * image.columns + x]
            if (!inBox(x, y)) outside += changed ? 1 : 0
            else {
              inside++
              changedInside += changed ? 1 : 0
            }
          }
        }
        expect(outside, `${imageId}: pixels changed outside its boxes`).toBe(0)
        expect(changedInside / inside, `${imageId}: share of box pixels changed`).toBeGreaterThan(0.5)
        checked++
      }
    }
    expect(checked).toBeGreaterThan(20)
  })

  it("the project's DICOM reader decodes every file to the same stored values as gdcm and pydicom", async () => {
    const decoded = decodedAll()
    for (const [i, file] of files.entries()) {
      const ours = await decodeFile(join(root, file.path), file.path)
      const reference = decoded[i]
      expect([ours.rows, ours.columns, ours.photometric], file.path).toEqual([
        reference.rows,
        reference.columns,
        reference.photometric
      ])
      const mask = 2 ** reference.bitsStored - 1
      const expected = reference.pixels!
      const actual = ours.pixels as ArrayLike<number>
      expect(actual.length, file.path).toBe(expected.length)
      // toEqual on 250k-element arrays is slow: find the first difference instead
      let firstDifference = -1
      for (let p = 0; p < expected.length && firstDifference < 0; p++)
        if ((actual[p] & mask) !== (expected[p] & mask)) firstDifference = p
      expect(firstDifference, `${file.path}: first differing pixel`).toBe(-1)
    }
  })
})

describe('generateDemo', () => {
  it('is deterministic: the same seed writes identical bytes, another seed other ids', async () => {
    const again = mkdtempSync(join(tmpdir(), 'cxr-demo-again-'))
    try {
      await generateDemo(again)
      const paths = listFiles(root)
      expect(listFiles(again)).toEqual(paths)
      for (const path of paths)
        expect(readFileSync(join(again, path)).equals(readFileSync(join(root, path))), path).toBe(true)
      const other = await generateDemo(join(again, 'other'), { studies: 4, testStudies: 1, seed: 43 })
      expect(other.quirks.duplicates[0].boxedImageId).not.toBe(summary.quirks.duplicates[0].boxedImageId)
    } finally {
      rmSync(again, { recursive: true, force: true })
    }
  })

  it('refuses a non-empty folder that is not a demo, and rewrites a previous demo without leftovers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cxr-demo-out-'))
    try {
      mkdirSync(join(dir, 'mine'))
      writeFileSync(join(dir, 'mine', 'notes.txt'), 'keep me')
      await expect(generateDemo(join(dir, 'mine'), { studies: 4, testStudies: 1 })).rejects.toThrow(
        /mine: the folder is not empty and does not hold a CXR Studio demo/
      )
      expect(readFileSync(join(dir, 'mine', 'notes.txt'), 'utf8')).toBe('keep me')

      await generateDemo(join(dir, 'demo'), { studies: 8, testStudies: 2, seed: 5 })
      await generateDemo(join(dir, 'demo'), { studies: 4, testStudies: 1, seed: 6 })
      const studyFolders = listFiles(join(dir, 'demo'))
        .filter((f) => f.startsWith('train/'))
        .map((f) => f.split('/')[1])
      const csvStudies = readCsv(join(dir, 'demo', 'train_study_level.csv')).rows.map(([id]) =>
        id.slice(0, 12)
      )
      expect([...new Set(studyFolders)].sort()).toEqual(csvStudies.sort())
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('rejects counts too small for every class and quirk, with a user error', async () => {
    await expect(generateDemo(join(tmpdir(), 'never-written'), { studies: 3 })).rejects.toBeInstanceOf(
      UserError
    )
    await expect(generateDemo(join(tmpdir(), 'never-written'), { testStudies: 0 })).rejects.toThrow(
      /test studies must be an integer from 1/
    )
  })
})
