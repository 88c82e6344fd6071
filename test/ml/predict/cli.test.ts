// `cxr-studio train | submit | predict | evaluate` through the built CLI and its worker processes
// (needs `npm run build:node`, which `npm test` runs first).
import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { openDataset } from '../../../main/core/dataset'
import { parseSubmissionCsv } from '../../../main/core/submission/submission-csv'
import { hasErrors, validateSubmission } from '../../../main/core/submission/validate'
import { demoDataset, tempDir, tinyTrainArgs } from '../helpers'
import { runCli } from '../../cli'

const BUILT = join(__dirname, '../../../out/node/train-worker.js')

const cli = runCli

let root: string
let workspace: string
let run: string

beforeAll(async () => {
  if (!existsSync(BUILT))
    throw new Error('out/node/train-worker.js is missing: run `npm run build:node` before these tests')
  root = await demoDataset({ studies: 12, testStudies: 3 })
  workspace = await tempDir('ws')
  run = join(await tempDir('run'), 'cli-run')
  const result = await cli([...tinyTrainArgs(workspace, root, run), '--json'])
  if (result.code !== 0) throw new Error(`train failed (${result.code}): ${result.stderr}`)
}, 300_000)

describe('cxr-studio train', () => {
  it('prints the result as JSON and leaves a run folder with checkpoints', async () => {
    const config = JSON.parse(await readFile(join(run, 'config.json'), 'utf8'))
    expect(config.train.epochs).toBe(1)
    expect(existsSync(join(run, 'checkpoints/last/model.json'))).toBe(true)
    expect(existsSync(join(run, 'checkpoints/best/checkpoint.json'))).toBe(true)
    expect((await readFile(join(run, 'results.csv'), 'utf8')).trim().split('\n')).toHaveLength(2)
  })

  it('refuses a dataset without labels with exit code 1 and one line naming the folder', async () => {
    const unlabelled = await tempDir('nolabels')
    const result = await cli([
      '--workspace',
      workspace,
      'train',
      unlabelled,
      '--out',
      join(await tempDir('nolabels-run'), 'run'),
      '--backend',
      'wasm'
    ])
    expect(result.code).toBe(1)
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(result.stderr).toMatch(/no train_image_level\.csv/)
  })
})

describe('cxr-studio submit', () => {
  it('writes a submission with every id of the sample, in its order, that validates', async () => {
    const out = join(await tempDir('sub'), 'submission.csv')
    const result = await cli(['--workspace', workspace, 'submit', run, root, '--out', out, '--json'])
    expect(result.code, result.stderr).toBe(0)
    const summary = JSON.parse(result.stdout)
    expect(summary.submission.filled).toEqual([])
    const text = await readFile(out, 'utf8')
    const sample = await readFile(join(root, 'sample_submission.csv'), 'utf8')
    expect(hasErrors(validateSubmission(text, sample))).toBe(false)
    const ids = (csv: string) =>
      csv
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => l.split(',')[0])
    expect(ids(text)).toEqual(ids(sample))

    const dataset = await openDataset(root, { workspace })
    const sizeOf = new Map(dataset.images.map((i) => [`${i.imageId}_image`, i.record!]))
    for (const row of parseSubmissionCsv(text).rows) {
      if (row.id.endsWith('_study')) {
        expect(row.detections.map((d) => d.cls)).toEqual(['negative', 'typical', 'indeterminate', 'atypical'])
        expect(row.detections.reduce((s, d) => s + d.confidence, 0)).toBeCloseTo(1, 3)
      } else {
        expect(row.detections.at(-1)!.cls).toBe('none')
        const record = sizeOf.get(row.id)!
        for (const d of row.detections.filter((d) => d.cls === 'opacity')) {
          expect(d.x1).toBeGreaterThanOrEqual(0)
          expect(d.y2).toBeLessThanOrEqual(record.rows + 1e-3)
          expect(d.x2).toBeLessThanOrEqual(record.columns + 1e-3)
        }
      }
    }
  }, 120_000)

  it('builds the id list from the folder when it has no sample_submission.csv', async () => {
    const out = join(await tempDir('sub'), 'submission.csv')
    const result = await cli(['--workspace', workspace, 'submit', run, join(root, 'test'), '--out', out])
    expect(result.code, result.stderr).toBe(0)
    const rows = parseSubmissionCsv(await readFile(out, 'utf8')).rows
    const sampleIds = (await readFile(join(root, 'sample_submission.csv'), 'utf8'))
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(',')[0])
    expect(rows.map((r) => r.id).sort()).toEqual([...sampleIds].sort())
  }, 120_000)
})

describe('cxr-studio predict and evaluate', () => {
  it('predict writes per-image boxes in original pixels and per-study probabilities', async () => {
    const out = join(await tempDir('pred'), 'predictions.json')
    const result = await cli([
      '--workspace',
      workspace,
      'predict',
      run,
      root,
      '--out',
      out,
      '--split',
      'all',
      '--tta',
      '--merge',
      'wbf'
    ])
    expect(result.code, result.stderr).toBe(0)
    const doc = JSON.parse(await readFile(out, 'utf8'))
    const dataset = await openDataset(root, { workspace })
    expect(doc.images).toHaveLength(dataset.images.filter((i) => i.record).length)
    expect(doc.settings).toMatchObject({ flipTta: true, merge: 'wbf' })
    for (const image of doc.images) {
      for (const box of image.boxes) {
        expect(box.x1).toBeGreaterThanOrEqual(0)
        expect(box.x2).toBeLessThanOrEqual(image.width)
        expect(box.y2).toBeLessThanOrEqual(image.height)
        expect(box.x2).toBeGreaterThan(box.x1)
      }
      expect(image.none).toBeGreaterThanOrEqual(0)
    }
    for (const study of doc.studies)
      expect(
        Object.values(study.probabilities as Record<string, number>).reduce((a, b) => a + b, 0)
      ).toBeCloseTo(1, 4)
  }, 120_000)

  it('evaluate scores the held-out test truth of a demo folder', async () => {
    const result = await cli(['--workspace', workspace, 'evaluate', run, root, '--json'])
    expect(result.code, result.stderr).toBe(0)
    const report = JSON.parse(result.stdout)
    expect(report.truth).toMatch(/test_study_level\.csv/)
    expect(report.final).toBeGreaterThanOrEqual(0)
    expect(report.final).toBeLessThanOrEqual(1)
    expect(report.counts.truthIds).toBeGreaterThan(0)
  }, 120_000)

  it('a run folder from another format version is a one-line error', async () => {
    const copy = join(await tempDir('run'), 'old')
    await cli([
      '--workspace',
      workspace,
      'train',
      root,
      '--out',
      copy,
      '--epochs',
      '1',
      '--image-size',
      '128',
      '--width-multiplier',
      '0.25',
      '--depth-multiplier',
      '0.25',
      '--batch-size',
      '4',
      '--backend',
      'wasm'
    ])
    const config = JSON.parse(await readFile(join(copy, 'config.json'), 'utf8'))
    await writeFile(join(copy, 'config.json'), JSON.stringify({ ...config, formatVersion: 2 }))
    const result = await cli(['--workspace', workspace, 'predict', copy, root, '--out', join(copy, 'p.json')])
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/run folder format version 2 is not supported/)
  }, 300_000)
})
