// `cxr-studio train DATA --folds K` through the built CLI and its train worker (needs
// `npm run build:node`, which `npm test` runs first): K tiny fold runs, each validated on its own
// stratified fold, then folds.json and the printed table.
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { summarizeRun } from '../../../main/backend/training/run-folders'
import type { RunSplit } from '../../../main/ml/runs/run-folder'
import type { FoldsSummary } from '../../../main/ml/runs/folds'
import { runCli } from '../../cli'
import { demoDataset, tempDir, tinyTrainArgs } from '../helpers'

const BUILT = join(__dirname, '../../../out/node/train-worker.js')

let root: string
let workspace: string

beforeAll(async () => {
  if (!existsSync(BUILT))
    throw new Error('out/node/train-worker.js is missing: run `npm run build:node` before these tests')
  root = await demoDataset({ studies: 8, testStudies: 1 })
  workspace = await tempDir('ws')
}, 120_000)

const readJson = async <T>(path: string) => JSON.parse(await readFile(path, 'utf8')) as T

describe('cxr-studio train --folds', () => {
  it('trains each fold on the others, every study validated exactly once, and sums the folds up', async () => {
    const out = join(await tempDir('folds'), 'cv')
    const result = await runCli([...tinyTrainArgs(workspace, root, out), '--folds', '2'])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toContain('fold 0/1: training in')
    expect(result.stderr).toContain('fold 1/1: training in')

    const splits = await Promise.all(
      [0, 1].map((i) => readJson<RunSplit>(join(out, `fold-${i}`, 'split.json')))
    )
    const labels = await readFile(join(root, 'train_study_level.csv'), 'utf8')
    const studies = labels
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.split(',')[0].replace(/_study$/, ''))
    // the folds partition the studies: each validated once, trained on by the other fold
    expect([...splits[0].valStudies, ...splits[1].valStudies].sort()).toEqual([...studies].sort())
    expect(splits[0].trainStudies).toEqual(splits[1].valStudies)
    splits.forEach((split, i) => {
      expect(split.fold).toEqual({ count: 2, index: i })
      // 2 studies per class in the demo of 8: one per class in each fold
      expect(split.studiesPerClass?.val).toEqual({ atypical: 1, indeterminate: 1, negative: 1, typical: 1 })
    })
    for (const i of [0, 1]) {
      const config = await readJson<{ train: { folds: number; fold: number; bestBy: string } }>(
        join(out, `fold-${i}`, 'config.json')
      )
      expect(config.train).toMatchObject({ folds: 2, fold: i, bestBy: 'smoothed' })
      const log = await readFile(join(out, `fold-${i}`, 'train.log'), 'utf8')
      expect(log).toMatch(new RegExp(`split: validation studies per class .*\\(fold ${i} of 2, stratified`))
      // the Runs view's summary of the run names its fold
      const summary = await summarizeRun(join(out, `fold-${i}`), 'opened', undefined)
      expect(summary.fold).toEqual({ index: i, count: 2 })
      expect(summary.best?.rule).toBe('smoothed')
    }

    const summary = await readJson<FoldsSummary>(join(out, 'folds.json'))
    expect(summary).toMatchObject({ format: 'cxr-studio-folds', folds: 2, bestBy: 'smoothed' })
    expect(summary.runs.map((r) => [r.fold, r.state, r.epochs])).toEqual([
      [0, 'completed', 1],
      [1, 'completed', 1]
    ])
    for (const run of summary.runs) {
      expect(run.best?.epoch).toBe(1)
      expect(run.metrics.final).toBeTypeOf('number')
    }
    const finals = summary.runs.map((r) => r.metrics.final!)
    expect(summary.mean.final).toBeCloseTo((finals[0] + finals[1]) / 2, 10)
    expect(summary.sd.final).toBeCloseTo(Math.abs(finals[0] - finals[1]) / Math.SQRT2, 10)
    expect(result.stdout).toContain('mean±sd')
    expect(result.stdout).toContain(join(out, 'folds.json'))

    // a second call without --resume refuses the folder; with --resume every fold is already done
    const again = await runCli([...tinyTrainArgs(workspace, root, out), '--folds', '2'])
    expect(again.code).not.toBe(0)
    expect(again.stderr).toContain('pass --resume to continue the folds')
    const resumed = await runCli([...tinyTrainArgs(workspace, root, out), '--folds', '2', '--resume'])
    expect(resumed.code, resumed.stderr).toBe(0)
    expect(resumed.stderr).toContain('fold 1/1: already trained')
  }, 600_000)

  it('refuses --fold without --folds and a fold outside the partition, naming the option', async () => {
    const out = join(await tempDir('folds'), 'bad')
    const lone = await runCli([...tinyTrainArgs(workspace, root, out), '--fold', '1'])
    expect(lone.code).not.toBe(0)
    expect(lone.stderr).toContain('--fold 1 needs --folds K')
    const outside = await runCli([...tinyTrainArgs(workspace, root, out), '--folds', '2', '--fold', '2'])
    expect(outside.code).not.toBe(0)
    expect(outside.stderr).toContain('--fold 2 is not in 0..1')
    expect(existsSync(out)).toBe(false)
  }, 120_000)
})
