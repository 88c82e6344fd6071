// `cxr-studio submit-coco`: a detector's COCO results (on a `coco` export, or on the test images) ->
// a submission that `validate-submission` accepts and `score` scores as an independent scorer does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { CocoDocument } from '../../main/core/export/coco'
import { generateDemo } from '../../main/core/demo'
import { indexFolder } from '../../main/core/dicom/index-folder'
import { parseImageCsv } from '../../main/core/labels'
import { parseSubmissionCsv } from '../../main/core/submission/submission-csv'
import { referenceScore } from '../metric/reference-scorer'
import { runCli } from '../cli'

const BUILT = join(import.meta.dirname, '..', '..', 'out', 'node', 'cli.js')

const cli = (...args: string[]) => runCli(['--workspace', join(work, 'ws'), ...args])

let work: string
let demo: string
const read = (path: string) => readFileSync(path, 'utf8')
const at = (name: string) => join(work, name)

/** The header and the rows of a Kaggle CSV whose id (first field) is in `ids`. */
function rowsOf(csv: string, ids: Set<string>): string {
  const [header, ...rows] = csv.trim().split('\n')
  return [header, ...rows.filter((row) => ids.has(row.slice(0, row.indexOf(','))))].join('\n') + '\n'
}

beforeAll(async () => {
  if (!existsSync(BUILT))
    throw new Error('out/node/cli.js is missing: run `npm run build:node` first (npm test does)')
  work = mkdtempSync(join(tmpdir(), 'cxr-submit-coco-'))
  demo = join(work, 'demo')
  await generateDemo(demo, { studies: 12, testStudies: 6, seed: 4 })
})
afterAll(() => rmSync(work, { recursive: true, force: true }))

describe('cxr-studio submit-coco', () => {
  it('turns results on a `coco` validation export into a submission of its studies and images', async () => {
    const exported = await cli(
      'coco',
      demo,
      '--out',
      at('coco'),
      '--val-fraction',
      '0.5',
      '--images',
      'png8',
      '--size',
      '128'
    )
    expect(exported.code, exported.stderr).toBe(0)
    const val = JSON.parse(read(at('coco/val.json'))) as CocoDocument
    // a detector that finds every box (in the exported 128-px frame) and one false alarm on the
    // images without a box, scored lower
    const boxed = new Set(val.annotations.map((a) => a.image_id))
    const results = [
      ...val.annotations.map((a) => ({ image_id: a.image_id, category_id: 1, bbox: a.bbox, score: 0.9 })),
      ...val.images
        .filter((image) => !boxed.has(image.id))
        .map((image) => ({ image_id: image.id, category_id: 1, bbox: [1, 1, 10, 10], score: 0.05 }))
    ]
    writeFileSync(at('results.json'), JSON.stringify(results))

    const run = await cli(
      'submit-coco',
      at('results.json'),
      '--images-json',
      at('coco/val.json'),
      '--dataset',
      demo,
      '--ids',
      'coco',
      '--out',
      at('val-submission.csv')
    )
    expect(run.code, run.stderr).toBe(0)
    const imageIds = new Set(val.images.map((i) => `${i.file_name.replace(/^.*\/|\.png$/g, '')}_image`))
    const studyIds = new Set(val.images.map((i) => `${i.study_id}_study`))
    expect(run.stdout).toContain(`${at('val-submission.csv')}: ${studyIds.size + imageIds.size} rows`)

    // validate against a sample of exactly the validation studies and images
    writeFileSync(
      at('val-sample.csv'),
      [
        'id,PredictionString',
        ...[...studyIds].map((id) => `${id},negative 1 0 0 1 1`),
        ...[...imageIds].map((id) => `${id},none 1 0 0 1 1`)
      ].join('\n') + '\n'
    )
    const valid = await cli(
      'validate-submission',
      at('val-submission.csv'),
      '--sample',
      at('val-sample.csv'),
      '--dataset',
      demo
    )
    expect(valid.stdout).toBe(`${at('val-submission.csv')}: valid\n`)

    // boxes come back in original DICOM pixels: the CSV's own boxes, to the rounding of the 128-px frame
    const submitted = parseSubmissionCsv(read(at('val-submission.csv'))).rows
    const truth = parseImageCsv(read(join(demo, 'train_image_level.csv'))).labels
    for (const label of truth.filter((l) => imageIds.has(`${l.imageId}_image`))) {
      const row = submitted.find((r) => r.id === `${label.imageId}_image`)!
      const boxes = row.detections.filter((d) => d.cls === 'opacity' && d.confidence === 0.9)
      expect(boxes.length).toBe(label.boxes.length)
      boxes.forEach((d, k) => {
        const b = label.boxes[k]
        expect(
          Math.abs(d.x1 - b.x) +
            Math.abs(d.y1 - b.y) +
            Math.abs(d.x2 - b.x - b.width) +
            Math.abs(d.y2 - b.y - b.height)
        ).toBeLessThan(0.1)
      })
      const none = row.detections.find((d) => d.cls === 'none')!.confidence
      expect(none).toBeCloseTo(label.boxes.length ? 0.1 : 0.95, 9)
    }

    // scored on the validation truth: boxes and `none` perfect, the whole equal to the reference scorer
    const studyTruth = rowsOf(read(join(demo, 'train_study_level.csv')), studyIds)
    const imageTruth = rowsOf(read(join(demo, 'train_image_level.csv')), imageIds)
    writeFileSync(at('val_study.csv'), studyTruth)
    writeFileSync(at('val_image.csv'), imageTruth)
    const scored = await cli(
      'score',
      '--study-csv',
      at('val_study.csv'),
      '--image-csv',
      at('val_image.csv'),
      '--submission',
      at('val-submission.csv'),
      '--json'
    )
    expect(scored.code, scored.stderr).toBe(0)
    const score = JSON.parse(scored.stdout)
    expect(score.ap.opacity).toBe(1)
    expect(score.ap.none).toBe(1)
    const reference = referenceScore(studyTruth, imageTruth, read(at('val-submission.csv')))
    expect(score.final).toBeCloseTo(reference.final!, 9)
  })

  it('writes the Kaggle submission of results on the test images, validated against sample_submission.csv', async () => {
    // the COCO file a detector run on test/ refers to: DICOM paths, original sizes, study ids
    const index = await indexFolder(demo)
    const testImages = index.images.filter((image) => image.path.startsWith('test/'))
    const images = testImages.map((image, i) => ({
      id: i + 1,
      file_name: image.path,
      width: image.columns,
      height: image.rows,
      study_id: image.studyId
    }))
    writeFileSync(
      at('test-images.json'),
      JSON.stringify({ images, annotations: [], categories: [{ id: 1, name: 'opacity' }] })
    )
    const truth = parseImageCsv(read(join(demo, 'test_image_level.csv'))).labels
    const results = truth.flatMap((label) =>
      label.boxes.map((b) => ({
        image_id: images.find((image) => image.file_name.endsWith(`/${label.imageId}.dcm`))!.id,
        category_id: 1,
        bbox: [b.x, b.y, b.width, b.height],
        score: 0.8
      }))
    )
    writeFileSync(at('test-results.json'), JSON.stringify(results))

    const run = await cli(
      'submit-coco',
      at('test-results.json'),
      '--images-json',
      at('test-images.json'),
      '--dataset',
      demo,
      '--out',
      at('submission.csv')
    )
    expect(run.code, run.stderr).toBe(0)
    const sample = join(demo, 'sample_submission.csv')
    const valid = await cli(
      'validate-submission',
      at('submission.csv'),
      '--sample',
      sample,
      '--dataset',
      demo
    )
    expect(valid.stdout).toBe(`${at('submission.csv')}: valid\n`)
    const scored = JSON.parse(
      (await cli('score', demo, '--truth', 'test', '--submission', at('submission.csv'), '--json')).stdout
    )
    expect(scored.ap.opacity).toBe(1)
    const reference = referenceScore(
      read(join(demo, 'test_study_level.csv')),
      read(join(demo, 'test_image_level.csv')),
      read(at('submission.csv'))
    )
    expect(scored.final).toBeCloseTo(reference.final!, 9)
  })

  it('reads a COCO ground-truth file too: its boxes with confidence 1, scoring 1 on the boxes', async () => {
    const train = JSON.parse(read(at('coco/train.json'))) as CocoDocument
    const run = await cli(
      'submit-coco',
      at('coco/train.json'),
      '--dataset',
      demo,
      '--ids',
      'coco',
      '--out',
      at('train-truth.csv')
    )
    expect(run.code, run.stderr).toBe(0)
    const imageIds = new Set(train.images.map((i) => `${i.file_name.replace(/^.*\/|\.png$/g, '')}_image`))
    const studyIds = new Set(train.images.map((i) => `${i.study_id}_study`))
    writeFileSync(at('train_study.csv'), rowsOf(read(join(demo, 'train_study_level.csv')), studyIds))
    writeFileSync(at('train_image.csv'), rowsOf(read(join(demo, 'train_image_level.csv')), imageIds))
    const scored = JSON.parse(
      (
        await cli(
          'score',
          '--study-csv',
          at('train_study.csv'),
          '--image-csv',
          at('train_image.csv'),
          '--submission',
          at('train-truth.csv'),
          '--json'
        )
      ).stdout
    )
    expect(scored.ap.opacity).toBe(1)
    expect(scored.ap.none).toBe(1)
  })

  it('refuses results whose images are not the sample ids, and an output inside the dataset', async () => {
    const notSample = await cli(
      'submit-coco',
      at('results.json'),
      '--images-json',
      at('coco/val.json'),
      '--dataset',
      demo,
      '--out',
      at('x.csv')
    )
    expect(notSample.code).toBe(1)
    expect(notSample.stderr).toMatch(
      /none of the \d+ image\(s\) of .*val\.json are in .*sample_submission\.csv.*--ids coco/
    )
    const before = readdirSync(demo).sort()
    const inside = await cli(
      'submit-coco',
      at('test-results.json'),
      '--images-json',
      at('test-images.json'),
      '--dataset',
      demo,
      '--out',
      join(demo, 'submission.csv')
    )
    expect(inside.code).toBe(1)
    expect(inside.stderr).toContain('must not be inside the dataset folder')
    expect(readdirSync(demo).sort()).toEqual(before)
    const noImages = await cli('submit-coco', at('results.json'), '--dataset', demo, '--out', at('x.csv'))
    expect(noImages.code).toBe(1)
    expect(noImages.stderr).toContain('also give the COCO file it refers to')
    expect(existsSync(at('x.csv'))).toBe(false)
  })
})
