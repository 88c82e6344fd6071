// The merged dataset, EDA, quality report and their CLI commands on a generated demo dataset,
// checked against counts taken independently from the CSV text and the generator's own summary.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { copyFile, cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Dataset } from '../../common/dataset'
import { STUDY_CLASSES } from '../../common/domain'
import { applyPolicy, openDataset } from '../../main/core/dataset'
import { generateDemo, type DemoSummary } from '../../main/core/demo'
import { DecodePool } from '../../main/core/dicom/pool'
import { WRITE_SYNTAXES } from '../../main/core/dicom/write'
import { computeEda, type Eda } from '../../main/core/eda'
import { formatLabelError } from '../../main/core/labels'
import { qualityReport } from '../../main/core/quality'

const BIN = fileURLToPath(new URL('../../bin/cxr-studio.mjs', import.meta.url))
const BUILT = ['cli.js', 'decode-worker.js'].every((f) =>
  existsSync(fileURLToPath(new URL(`../../out/node/${f}`, import.meta.url)))
)
if (!BUILT)
  console.warn('pixel and CLI checks on the demo skipped: out/node is not built (run `npm run build:node`)')

let dir = ''
let root = ''
let workspace = ''
let summary: DemoSummary
let dataset: Dataset
let eda: Eda

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cxr-eda-demo-'))
  root = join(dir, 'demo')
  workspace = join(dir, 'workspace')
  summary = await generateDemo(root, { studies: 8, testStudies: 2, seed: 11 })
  dataset = await openDataset(root, { workspace })
  eda = computeEda(dataset)
})
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true })
})

/** Counts read straight from the CSV text: fields split by hand, boxes counted from the label column. */
function countsFromCsvText() {
  const studyLines = readFileSync(join(root, 'train_study_level.csv'), 'utf8').trim().split('\n').slice(1)
  const classOf = new Map<string, string>()
  for (const line of studyLines) {
    const [id, ...values] = line.split(',')
    classOf.set(id.replace(/_study$/, ''), STUDY_CLASSES[values.indexOf('1')])
  }
  const imageLines = readFileSync(join(root, 'train_image_level.csv'), 'utf8').trim().split('\n').slice(1)
  const boxesPerImage: Record<string, Record<string, number>> = {}
  const rowsPerStudy = new Map<string, number>()
  const boxedStudies = new Set<string>()
  let boxes = 0
  let withBoxes = 0
  let positiveImagesWithoutBoxes = 0
  for (const line of imageLines) {
    // the boxes column holds commas, but the last two columns (label, StudyInstanceUID) never do
    const studyId = line.slice(line.lastIndexOf(',') + 1)
    const rest = line.slice(0, line.lastIndexOf(','))
    const label = rest.slice(rest.lastIndexOf(',') + 1)
    const count = label.split(' ').filter((token) => token === 'opacity').length
    const cls = classOf.get(studyId)!
    boxesPerImage[cls] ??= {}
    boxesPerImage[cls][count] = (boxesPerImage[cls][count] ?? 0) + 1
    rowsPerStudy.set(studyId, (rowsPerStudy.get(studyId) ?? 0) + 1)
    boxes += count
    if (count > 0) {
      withBoxes++
      boxedStudies.add(studyId)
    } else if (cls !== 'negative') positiveImagesWithoutBoxes++
  }
  const imagesPerStudy: Record<string, number> = {}
  for (const studyId of classOf.keys()) {
    const n = rowsPerStudy.get(studyId) ?? 0
    imagesPerStudy[n] = (imagesPerStudy[n] ?? 0) + 1
  }
  const positiveStudiesWithoutBoxes = [...classOf].filter(
    ([id, cls]) => cls !== 'negative' && rowsPerStudy.has(id) && !boxedStudies.has(id)
  ).length
  const perClass = Object.fromEntries(
    STUDY_CLASSES.map((c) => [c, [...classOf.values()].filter((v) => v === c).length])
  )
  return {
    studies: { total: studyLines.length, ...perClass, notOneHot: 0 },
    images: { total: imageLines.length, withBoxes, withoutBoxes: imageLines.length - withBoxes },
    boxes,
    boxesPerImage,
    imagesPerStudy,
    positivesWithoutBoxes: { images: positiveImagesWithoutBoxes, studies: positiveStudiesWithoutBoxes }
  }
}

function dicomFiles(split: string): number {
  return readdirSync(join(root, split), { recursive: true }).filter((f) => String(f).endsWith('.dcm')).length
}

describe('the demo dataset, opened', () => {
  it('is a labelled Kaggle layout with every file and row linked', () => {
    expect(dataset.kaggleLayout).toBe(true)
    expect(dataset.fileErrors).toEqual([])
    expect(dataset.labelErrors).toEqual([])
    const train = dataset.images.filter((i) => i.split === 'train')
    expect(train).toHaveLength(summary.splits.train.images)
    expect(train.every((i) => i.record && i.label)).toBe(true)
    expect(dataset.images.filter((i) => i.split === 'test').every((i) => i.record && !i.label)).toBe(true)
  })

  it('gives EDA label counts equal to counts taken from the CSV text', () => {
    const expected = countsFromCsvText()
    expect(eda.studies).toEqual(expected.studies)
    expect(eda.images).toEqual(expected.images)
    expect(eda.boxes.total).toBe(expected.boxes)
    expect(eda.boxesPerImage).toEqual(
      Object.fromEntries(STUDY_CLASSES.map((c) => [c, expected.boxesPerImage[c] ?? {}]))
    )
    expect(eda.imagesPerStudy).toEqual(expected.imagesPerStudy)
    expect(eda.positivesWithoutBoxes).toEqual(expected.positivesWithoutBoxes)
    // and with what the generator says it wrote
    expect(eda.boxes.total).toBe(summary.splits.train.boxes)
    expect(eda.images.withBoxes).toBe(summary.splits.train.imagesWithBoxes)
  })

  it('gives the header mix of the files that were written', () => {
    expect(eda.files).toEqual({
      total: dicomFiles('train') + dicomFiles('test'),
      train: dicomFiles('train'),
      test: dicomFiles('test'),
      unreadable: 0
    })
    const expectedSyntaxes: Record<string, number> = {}
    for (const [syntax, count] of Object.entries(summary.transferSyntaxes)) {
      const uid = WRITE_SYNTAXES[syntax as keyof typeof WRITE_SYNTAXES].uid
      expectedSyntaxes[uid] = (expectedSyntaxes[uid] ?? 0) + (count ?? 0)
    }
    expect(Object.fromEntries(eda.transferSyntax.map((t) => [t.uid, t.count]))).toEqual(expectedSyntaxes)
    expect(eda.photometric.MONOCHROME1 ?? 0).toBe(summary.pixelFormats.monochrome1)
  })
})

describe.skipIf(!BUILT)('quality of the demo dataset, with real decoding', () => {
  it('finds the planted quirks and nothing that was not planted', async () => {
    const pool = new DecodePool({ size: 1 })
    let report
    try {
      report = await qualityReport(dataset, { pool, workspace })
    } finally {
      await pool.close()
    }
    const quirks = summary.quirks
    const ids = (rule: string) =>
      report.issues.filter((i) => i.rule === rule).map((i) => i.imageId ?? i.studyId)
    const trainDuplicates = quirks.duplicates
      .filter((d) => d.split === 'train')
      .map((d) => d.duplicateImageId)
    // the pixel-identical copies, plus the unboxed third image of the multi-image indeterminate study
    expect(ids('unlabelled-duplicate')).toEqual(expect.arrayContaining(trainDuplicates))
    expect(new Set(ids('pixel-identical'))).toEqual(
      new Set(quirks.duplicates.flatMap((d) => [d.boxedImageId, d.duplicateImageId]))
    )
    expect(report.pixelCheck.identicalGroups).toBe(quirks.duplicates.length)
    expect(ids('positive-study-without-boxes')).toEqual(quirks.positiveWithoutBoxes.map((p) => p.studyId))
    expect(ids('multi-image-study').sort()).toEqual(quirks.multiImageStudies.map((m) => m.studyId).sort())
    for (const rule of [
      'malformed-csv-row',
      'unreadable-file',
      'csv-row-without-file',
      'file-without-csv-row',
      'study-mismatch',
      'zero-area-box',
      'box-outside-image'
    ]) {
      expect(ids(rule), rule).toEqual([])
    }
    // keep-boxed drops exactly the unboxed images of studies with boxes
    const dropped = report.policies['keep-boxed'].dropped.map((d) => d.imageId).sort()
    expect(dropped).toEqual(ids('unlabelled-duplicate').sort())
    expect(report.policies['keep-boxed'].kept).toBe(applyPolicy(dataset, 'keep-boxed').length)
  })
})

describe.skipIf(!BUILT)('cxr-studio eda / quality', () => {
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, [BIN, '--workspace', workspace, ...args], { encoding: 'utf8' })

  it('eda --json prints exactly the EDA document', () => {
    const result = cli('eda', root, '--json')
    expect(result.status, result.stderr).toBe(0)
    expect(JSON.parse(result.stdout)).toEqual(JSON.parse(JSON.stringify(eda)))
  })

  it('eda names the CSV rows it could not load on stderr, and counts the others', async () => {
    const target = join(dir, 'bad-row')
    await cp(root, target, { recursive: true })
    const lines = readFileSync(join(root, 'train_image_level.csv'), 'utf8').split('\n')
    const at = lines.findIndex((line) => line.includes("'width'"))
    lines[at] = lines[at].replace("'width'", "'width' 'height'") // a broken boxes literal
    await writeFile(join(target, 'train_image_level.csv'), lines.join('\n'))
    const result = cli('eda', target, '--json')
    expect(result.status, result.stderr).toBe(0)
    expect(result.stderr).toMatch(new RegExp(`^warning: train_image_level\\.csv:${at + 1}: boxes: `))
    expect(JSON.parse(result.stdout).images.total).toBe(eda.images.total - 1)
  })

  it('eda prints a readable table', () => {
    const result = cli('eda', root)
    expect(result.status, result.stderr).toBe(0)
    expect(result.stdout).toContain(`Studies  ${eda.studies.total}  (rows of train_study_level.csv)`)
    expect(result.stdout).toMatch(new RegExp(`typical\\s+${eda.studies.typical}\\s`))
  })

  it("quality lists findings by rule and the chosen policy's drops", () => {
    const json = cli('quality', root, '--json', '--policy', 'keep-most-boxes', '--no-pixels')
    expect(json.status, json.stderr).toBe(0)
    const report = JSON.parse(json.stdout)
    expect(report.policy).toBe('keep-most-boxes')
    expect(report.pixelCheck.ran).toBe(false)
    expect(report.counts['multi-image-study']).toBe(summary.quirks.multiImageStudies.length)

    const text = cli('quality', root, '--policy', 'keep-most-boxes')
    expect(text.status, text.stderr).toBe(0)
    expect(text.stdout).toMatch(/WARNING {2}unlabelled-duplicate \(\d+\)/)
    expect(text.stdout).toContain('Policy keep-most-boxes (active)')
    for (const drop of report.policies['keep-most-boxes'].dropped)
      expect(text.stdout).toContain(`drop ${drop.path}`)
  })

  it('fails with a one-line message on a missing folder, and exit 2 on a bad policy', () => {
    const missing = cli('quality', join(dir, 'nope'))
    expect(missing.status).toBe(1)
    expect(missing.stderr.trim()).toBe(`cxr-studio: ${join(dir, 'nope')}: no such folder`)
    expect(cli('quality', root, '--policy', 'keep-some').status).toBe(2)
  })
})

describe('openDataset on other folders', () => {
  /** Copies demo DICOM files to new relative paths under a fresh folder. */
  async function folderWith(name: string, files: Record<string, string>): Promise<string> {
    const target = join(dir, name)
    for (const [to, from] of Object.entries(files)) {
      await mkdir(dirname(join(target, to)), { recursive: true })
      await copyFile(join(root, from), join(target, to))
    }
    return target
  }
  const trainFiles = () => dataset.images.filter((i) => i.split === 'train' && i.record).map((i) => i.record!)

  it('opens a folder of DICOMs without CSVs as an unlabelled dataset', async () => {
    const [a, b] = trainFiles()
    const plain = await openDataset(await folderWith('plain', { 'a.dcm': a.path, 'sub/b.dcm': b.path }), {
      workspace
    })
    expect(plain.kaggleLayout).toBe(false)
    expect(plain.labelFiles).toEqual({ study: null, image: null })
    expect(plain.images.map((i) => i.record?.path).sort()).toEqual(['a.dcm', 'sub/b.dcm'])
    expect(computeEda(plain).studies.total).toBe(0)
    const report = await qualityReport(plain)
    expect(report.counts['file-without-csv-row']).toBe(0)
    expect(report.policies['keep-all'].kept).toBe(0)
  })

  it('loads the good rows of a damaged label CSV and reports the rest as file:line', async () => {
    const [a, b] = trainFiles()
    const target = await folderWith('damaged', { [a.path]: a.path, [b.path]: b.path })
    const rows = [
      'id,boxes,label,StudyInstanceUID',
      `${a.imageId}_image,,none 1 0 0 1 1,${a.studyId}`,
      `${b.imageId}_image,"[{'x' 1}]",none 1 0 0 1 1,${b.studyId}`
    ]
    await writeFile(join(target, 'train_image_level.csv'), rows.join('\n') + '\n')
    await mkdir(join(target, 'train_study_level.csv')) // a folder where a file should be
    const damaged = await openDataset(target, { workspace })
    expect(damaged.labelErrors.map(formatLabelError)).toEqual([
      "train_image_level.csv:3: boxes: expected ':' after key at column 7"
    ])
    expect(damaged.fileErrors).toEqual([
      { path: 'train_study_level.csv', reason: 'cannot read the label file: EISDIR' }
    ])
    expect(damaged.images.find((i) => i.imageId === a.imageId)?.label?.line).toBe(2)
    const report = await qualityReport(damaged)
    expect(report.issues.filter((i) => i.rule === 'file-without-csv-row').map((i) => i.path)).toEqual([
      b.path
    ])
  })

  it('refuses a path that is not a folder', async () => {
    await expect(openDataset(join(root, 'train_study_level.csv'))).rejects.toThrow(
      /train_study_level\.csv: not a folder$/
    )
  })
})
