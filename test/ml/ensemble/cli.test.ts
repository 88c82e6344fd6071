// `cxr-studio ensemble` and predict/evaluate/submit with the ensemble run, through the built CLI on
// two tiny runs trained on a demo (needs `npm run build:node`, which `npm test` runs first).
import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { rename } from 'node:fs/promises'
import type { RunDetail, RunSummary } from '../../../common/contract'
import { createBackend } from '../../../main/backend/index'
import { hasErrors, validateSubmission } from '../../../main/core/submission/validate'
import { caller } from '../../backend/helpers'
import { runCli } from '../../cli'
import { demoDataset, tempDir, tinyTrainArgs } from '../helpers'

const BUILT = join(__dirname, '../../../out/node/predict-worker.js')

let root: string
let workspace: string
let runA: string
let runB: string
let dir: string

async function cliJson(args: string[]): Promise<any> {
  const result = await runCli(['--workspace', workspace, ...args, '--json'])
  if (result.code !== 0)
    throw new Error(`cxr-studio ${args.join(' ')} exited ${result.code}: ${result.stderr}`)
  return JSON.parse(result.stdout)
}

beforeAll(async () => {
  if (!existsSync(BUILT))
    throw new Error('out/node/predict-worker.js is missing: run `npm run build:node` first')
  root = await demoDataset({ studies: 12, testStudies: 3 })
  workspace = await tempDir('ws')
  dir = await tempDir('ensemble')
  runA = join(dir, 'run-a')
  runB = join(dir, 'run-b')
  for (const [run, seed] of [
    [runA, '1'],
    [runB, '2']
  ]) {
    const result = await runCli([...tinyTrainArgs(workspace, root, run), '--seed', seed, '--json'])
    if (result.code !== 0) throw new Error(`train failed (${result.code}): ${result.stderr}`)
  }
}, 300_000)

/** Boxes of a predictions.json, per image, sorted (ties in confidence may come in any order). */
function boxesById(doc: any): Map<string, number[][]> {
  return new Map(
    doc.images.map((image: any) => [
      image.imageId,
      image.boxes
        .map((b: any) => [b.confidence, b.x1, b.y1, b.x2, b.y2])
        .sort((p: number[], q: number[]) => q[0] - p[0] || p[1] - q[1] || p[2] - q[2] || p[3] - q[3])
    ])
  )
}

describe('cxr-studio ensemble', () => {
  it('writes an ensemble run folder: kind, members with both paths, checkpoint, weight, fusion', async () => {
    const out = join(dir, 'ens')
    const printed = await cliJson([
      'ensemble',
      runA,
      runB,
      '--weights',
      '2,1',
      '--checkpoint',
      'best,last',
      '--iou',
      '0.6',
      '--out',
      out
    ])
    const config = JSON.parse(await readFile(join(out, 'config.json'), 'utf8'))
    expect(printed.kind).toBe('ensemble')
    expect(config.kind).toBe('ensemble')
    expect(config.members.map((m: any) => [m.path, m.absolutePath, m.kind, m.checkpoint, m.weight])).toEqual([
      ['../run-a', runA, 'trained', 'best', 2],
      ['../run-b', runB, 'trained', 'last', 1]
    ])
    expect(config.fusion).toEqual({
      method: 'wbf',
      iouThreshold: 0.6,
      skipBoxThreshold: 0,
      confidence: 'avg'
    })
    expect(config.train.dataset).toBe(root)
    // validation studies no member trained on
    const split = JSON.parse(await readFile(join(out, 'split.json'), 'utf8'))
    const trained = new Set<string>()
    for (const run of [runA, runB])
      JSON.parse(await readFile(join(run, 'split.json'), 'utf8')).trainStudies.forEach((s: string) =>
        trained.add(s)
      )
    expect(split.valStudies.some((s: string) => trained.has(s))).toBe(false)
  })

  it('refuses a wrong weight count, a missing member, a single member and a negative weight, naming the problem', async () => {
    const out = join(dir, 'bad')
    const tries: Array<[string[], RegExp]> = [
      [['ensemble', runA, runB, '--weights', '1,2,3', '--out', out], /--weights: 3 value\(s\) for 2 member/],
      [['ensemble', runA, join(dir, 'nope'), '--out', out], /nope: no such run folder/],
      [['ensemble', runA, '--out', out], /at least two member runs/],
      [['ensemble', runA, runB, '--weights', '1,-1', '--out', out], /positive numbers/]
    ]
    for (const [args, message] of tries) {
      const result = await runCli(['--workspace', workspace, ...args])
      expect(result.code, args.join(' ')).not.toBe(0)
      expect(result.stderr).toMatch(message)
      expect(existsSync(join(out, 'config.json'))).toBe(false)
    }
    // an ensemble made into a member of a new one is fine; the same folder as its own member is not
    const nested = join(dir, 'nested')
    await cliJson(['ensemble', runA, join(dir, 'ens'), '--out', nested])
    const self = await runCli(['--workspace', workspace, 'ensemble', runA, nested, '--out', nested])
    expect(self.code).toBe(1)
    expect(self.stderr).toMatch(/exists and is not empty/)
    // a config edited by hand so that two ensembles contain each other: refused, never predicted forever
    const inner = join(dir, 'cycle-inner')
    const outer = join(dir, 'cycle-outer')
    await cliJson(['ensemble', runA, runB, '--out', inner])
    await cliJson(['ensemble', runA, inner, '--out', outer])
    const innerConfig = JSON.parse(await readFile(join(inner, 'config.json'), 'utf8'))
    innerConfig.members[1] = {
      ...innerConfig.members[0],
      name: 'cycle-outer',
      path: '../cycle-outer',
      absolutePath: outer
    }
    await writeFile(join(inner, 'config.json'), JSON.stringify(innerConfig))
    const predicted = await runCli([
      '--workspace',
      workspace,
      'predict',
      outer,
      root,
      '--out',
      join(dir, 'cycle.json')
    ])
    expect(predicted.code).toBe(1)
    expect(predicted.stderr).toMatch(/ensembles contain each other/)
    const again = await runCli([
      '--workspace',
      workspace,
      'ensemble',
      runA,
      outer,
      '--out',
      join(dir, 'cycle-3')
    ])
    expect(again.code).toBe(1)
    expect(again.stderr).toMatch(/ensembles contain each other/)
  })

  it('an ensemble of a run with itself predicts exactly the run’s boxes, none and study probabilities', async () => {
    const self = join(dir, 'self')
    await cliJson(['ensemble', runA, runA, '--out', self])
    // a very low threshold: an untrained tiny run's boxes all score about 0.01, many overlap
    const common = [root, '--split', 'all', '--score-threshold', '0.0001', '--runtime', 'tfjs']
    await cliJson(['predict', runA, ...common, '--out', join(dir, 'a.json')])
    const summary = await cliJson(['predict', self, ...common, '--out', join(dir, 'self.json')])
    const a = JSON.parse(await readFile(join(dir, 'a.json'), 'utf8'))
    const e = JSON.parse(await readFile(join(dir, 'self.json'), 'utf8'))
    expect(e.ensemble.members.map((m: any) => m.run)).toEqual([runA, runA])
    expect(summary.boxes).toBeGreaterThan(0)
    const [boxesA, boxesE] = [boxesById(a), boxesById(e)]
    expect([...boxesE.keys()]).toEqual([...boxesA.keys()])
    for (const [id, boxes] of boxesA) {
      expect(boxesE.get(id)!.length).toBe(boxes.length)
      boxes.forEach((box, k) => box.forEach((v, j) => expect(boxesE.get(id)![k][j]).toBeCloseTo(v, 9)))
    }
    a.images.forEach((image: any, i: number) => expect(e.images[i].none).toBeCloseTo(image.none, 12))
    a.studies.forEach((study: any, i: number) =>
      expect(e.studies[i].probabilities.typical).toBeCloseTo(study.probabilities.typical, 12)
    )
  }, 120_000)

  it('evaluates an ensemble of two runs with the competition metric, and its fused none is the weighted mean', async () => {
    const out = join(dir, 'ens-eval')
    await cliJson(['ensemble', runA, runB, '--weights', '3,1', '--out', out])
    const report = await cliJson(['evaluate', out, root, '--predictions', join(dir, 'ens-eval.json')])
    expect(report.truth).toMatch(/test_study_level\.csv/)
    expect(typeof report.final).toBe('number')
    expect(report.final).toBeGreaterThanOrEqual(0)
    expect(report.final).toBeLessThanOrEqual(1)
    const e = JSON.parse(await readFile(join(dir, 'ens-eval.json'), 'utf8'))
    const members = await Promise.all(
      [runA, runB].map(async (run, i) => {
        await cliJson(['predict', run, root, '--out', join(dir, `m${i}.json`)])
        return JSON.parse(await readFile(join(dir, `m${i}.json`), 'utf8'))
      })
    )
    e.images.forEach((image: any, i: number) =>
      expect(image.none).toBeCloseTo((3 * members[0].images[i].none + members[1].images[i].none) / 4, 6)
    )
  }, 120_000)

  it('submit with an ensemble writes a submission that validates against the sample', async () => {
    const out = join(dir, 'ens-sub')
    await cliJson(['ensemble', runA, runB, '--out', out])
    const csv = join(dir, 'ensemble-submission.csv')
    const summary = await cliJson(['submit', out, root, '--out', csv])
    expect(summary.submission.filled).toEqual([])
    const text = await readFile(csv, 'utf8')
    const sample = await readFile(join(root, 'sample_submission.csv'), 'utf8')
    expect(hasErrors(validateSubmission(text, sample))).toBe(false)
    expect(text.trim().split('\n')).toHaveLength(sample.trim().split('\n').length)
  }, 120_000)
})

describe("createEnsemble through the contract (the Runs view's Ensemble…)", () => {
  it('makes runs/<name> from two listed runs, lists it as a completed ensemble, and marks a missing member', async () => {
    const ws = await tempDir('ens-ws')
    const backend = createBackend({ workspace: ws, host: 'web', logError: () => undefined })
    const call = caller(() => backend)
    const a = await call<RunSummary>('openRun', { path: runA })
    const b = await call<RunSummary>('openRun', { path: runB })
    const made = await call<RunSummary>('createEnsemble', {
      name: 'gui-ens',
      members: [
        { runId: a.runId, weight: 2 },
        { runId: b.runId, weight: 1, checkpoint: 'last' }
      ],
      iouThreshold: 0.5
    })
    expect(made.path).toBe(join(ws, 'runs', 'gui-ens'))
    expect(made.state).toBe('completed')
    expect(made.ensemble).toEqual({
      members: [
        { name: 'run-a', path: runA, weight: 2, checkpoint: null, missing: false },
        { name: 'run-b', path: runB, weight: 1, checkpoint: 'last', missing: false }
      ],
      iouThreshold: 0.5,
      skipBoxThreshold: 0
    })
    const listed = (await call<RunSummary[]>('listRuns', {})).find((r) => r.runId === made.runId)
    expect(listed?.ensemble?.members).toHaveLength(2)
    // its page (the toast's Open link): the config as written, no epochs, no error
    const detail = await call<RunDetail>('readRun', { runId: made.runId })
    expect(detail.summary.error).toBeNull()
    expect(detail.config?.kind).toBe('ensemble')
    expect(detail.results).toEqual([])
    await expect(
      call('createEnsemble', {
        name: 'gui-ens',
        members: [
          { runId: a.runId, weight: 1 },
          { runId: b.runId, weight: 1 }
        ]
      })
    ).rejects.toThrow(/a run of that name exists/)
    await expect(
      call('createEnsemble', { name: 'one', members: [{ runId: a.runId, weight: 1 }] })
    ).rejects.toThrow(/at least two runs/)
    // a member moved away: listed as missing (the Predict form then leaves the ensemble out)
    const copyDir = join(dir, 'run-b-moved')
    await rename(runB, copyDir)
    try {
      const after = (await call<RunSummary[]>('listRuns', {})).find((r) => r.runId === made.runId)
      expect(after?.ensemble?.members.map((m) => m.missing)).toEqual([false, true])
    } finally {
      await rename(copyDir, runB)
    }
    await backend.close()
  })
})
