// Training through the back end, as the Train and Runs views use it: the form's check, a run
// started as a job in the train worker with its events, cancel and resume, the run listing (also of
// runs made by the CLI), deletion, and what a killed worker leaves.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { JobEvent } from '../../common/contract'
import type { TrainSettings } from '../../common/training'
import { createBackend, type Backend } from '../../main/backend/index'
import { generateDemo } from '../../main/core/demo'
import { parseResultsCsv } from '../../main/ml/runs/results-csv'
import { cliOutput } from '../cli'
import { caller, jobEnded } from './helpers'

let base: string
let root: string
let workspace: string
let backend: Backend
let datasetId: string
const events: JobEvent[] = []

/** A small, fast run: the tiny model scaled down, 128 px, 2 epochs. */
const tiny: TrainSettings = {
  imageSize: 128,
  widthMultiplier: 0.25,
  depthMultiplier: 0.25,
  batchSize: 4,
  epochs: 2,
  valFraction: 0.3,
  backend: 'wasm',
  seed: 3
}

const call = caller(() => backend)
const ended = (jobId: string) => jobEnded(backend, jobId)

function firstEvent(jobId: string, name: JobEvent['name']): Promise<JobEvent> {
  return new Promise((resolve) => {
    const found = events.find((e) => e.jobId === jobId && e.name === name)
    if (found) return resolve(found)
    const stop = backend.jobs.onEvent((event) => {
      if (event.jobId === jobId && event.name === name) {
        stop()
        resolve(event)
      }
    })
  })
}

beforeAll(async () => {
  base = mkdtempSync(join(tmpdir(), 'cxr-training-'))
  root = join(base, 'siim')
  workspace = join(base, 'workspace')
  await generateDemo(root, { studies: 12, testStudies: 2, seed: 5 })
  backend = createBackend({ workspace, host: 'web', logError: () => undefined })
  backend.jobs.onEvent((event) => events.push(event))
  datasetId = (await backend.handlers.openDataset({ path: root })).datasetId
}, 60_000)

afterAll(async () => {
  await backend?.close()
  rmSync(base, { recursive: true, force: true })
})

describe('checking training settings', () => {
  it('names each bad field, keeps checking the others, and gives the defaults with their reasons', async () => {
    const check = await call<{
      errors: Array<{ field: string; message: string }>
      defaults: Record<string, string>
      trainImages: number
      valStudiesPerClass: Record<string, number>
    }>('checkTraining', {
      datasetId,
      settings: { imageSize: 100, strategy: 'freeze_all', threads: 3, pretrained: join(base, 'missing.json') }
    })
    const byField = Object.fromEntries(check.errors.map((e) => [e.field, e.message]))
    expect(byField.strategy).toMatch(/unknown strategy/)
    expect(byField.threads).toBeTruthy()
    expect(byField.imageSize).toMatch(/multiple of 128/)
    expect(byField.pretrained).toMatch(/no such file/)
    // a pretrained backbone changes the defaults (Flash's fine-tuning recipe)
    expect(check.defaults.lr).toMatch(/0\.0001 \(pretrained backbone with adamw\)/)
    expect(check.trainImages).toBeGreaterThan(0)
    const clean = await call<{
      errors: unknown[]
      defaults: Record<string, string>
      valStudiesPerClass: Record<string, number>
    }>('checkTraining', { datasetId, settings: tiny })
    expect(clean.errors).toEqual([])
    expect(clean.defaults.lr).toMatch(/0\.01 \(random initialisation with adamw\)/)
    expect(Object.values(clean.valStudiesPerClass).reduce((a, b) => a + b, 0)).toBeGreaterThan(0)
  })

  it('previews the validation split with the floor per class, or one fold, and names a fold without folds', async () => {
    type Check = {
      errors: Array<{ field: string; message: string }>
      valStudiesPerClass: Record<string, number>
    }
    // 12 demo studies: 3 per class; 10% rounds to 0, the floor gives min(4, max(1, a quarter of 3)) = 1 per class
    const floored = await call<Check>('checkTraining', { datasetId, settings: { valFraction: 0.1 } })
    expect(floored.valStudiesPerClass).toEqual({ negative: 1, typical: 1, indeterminate: 1, atypical: 1 })
    const unfloored = await call<Check>('checkTraining', {
      datasetId,
      settings: { valFraction: 0.1, valMinPerClass: 0 }
    })
    expect(Object.values(unfloored.valStudiesPerClass).reduce((a, b) => a + b, 0)).toBe(0)
    // fold 0 of 3: one study of each class of 3
    const fold = await call<Check>('checkTraining', { datasetId, settings: { folds: 3, fold: 0 } })
    expect(fold.errors).toEqual([])
    expect(fold.valStudiesPerClass).toEqual({ negative: 1, typical: 1, indeterminate: 1, atypical: 1 })
    const lone = await call<Check>('checkTraining', { datasetId, settings: { fold: 1 } })
    expect(lone.errors).toContainEqual({
      field: 'fold',
      message: expect.stringMatching(/--fold 1 needs --folds K/)
    })
  })

  it('refuses to start with bad settings, saying which', async () => {
    await expect(call('startTraining', { datasetId, settings: { ...tiny, imageSize: 100 } })).rejects.toThrow(
      /imageSize: .*multiple of 128/
    )
    expect(backend.jobs.list().filter((job) => job.kind === 'train')).toEqual([])
  })
})

describe('a run started from the back end', () => {
  let started: { jobId: string; runId: string; runDir: string }

  it('trains in the worker, streams start/step/epoch/samples/log/end, and writes the CLI run layout', async () => {
    started = await call('startTraining', { datasetId, settings: tiny, name: 'first' })
    expect(started.runDir).toBe(join(workspace, 'runs', 'first'))
    const job = await ended(started.jobId)
    expect(job).toMatchObject({ state: 'done', kind: 'train', meta: { runId: started.runId } })
    const names = new Set(events.filter((e) => e.jobId === started.jobId).map((e) => e.name))
    expect([...names].sort()).toEqual(['end', 'epoch', 'log', 'samples', 'start', 'step'])
    for (const file of [
      'config.json',
      'split.json',
      'results.csv',
      'train.log',
      'status.json',
      'samples.json'
    ])
      expect(existsSync(join(started.runDir, file)), file).toBe(true)
    expect(existsSync(join(started.runDir, 'checkpoints', 'last', 'checkpoint.json'))).toBe(true)
  }, 240_000)

  it('lists the run with the best score its results.csv holds, and reads its curves and log', async () => {
    const runs = await call<
      Array<{ runId: string; state: string; best: { value: number; epoch: number } | null }>
    >('listRuns', {})
    const run = runs.find((r) => r.runId === started.runId)!
    expect(run.state).toBe('completed')
    const rows = parseResultsCsv(readFileSync(join(started.runDir, 'results.csv'), 'utf8'))
    const finals = rows.map((row) => row.final!)
    expect(run.best?.value).toBeCloseTo(Math.max(...finals), 5)
    expect(finals[run.best!.epoch - 1]).toBeCloseTo(Math.max(...finals), 5)
    const detail = await call<{
      results: unknown[]
      steps: { steps: number[]; series: Record<string, number[]> }
      log: string[]
      samples: { images: unknown[] } | null
    }>('readRun', { runId: started.runId })
    expect(detail.results).toHaveLength(2)
    expect(detail.steps.steps.length).toBeGreaterThan(0)
    expect(detail.steps.series.total.length).toBe(detail.steps.steps.length)
    expect(detail.log.some((line) => /completed 2 epochs/.test(line))).toBe(true)
    // after the epochs, the study regressions are fitted on the trained model's predictions
    expect(detail.log.at(-1)).toMatch(/study regressions fitted on \d+ studies/)
    expect(detail.samples?.images.length).toBeGreaterThan(0)
    // a page attaching after the end still gets the whole story
    const history = await call<{ events: JobEvent[] }>('attachJob', { jobId: started.jobId })
    expect(history.events.filter((e) => e.name === 'epoch')).toHaveLength(2)
    expect(history.events.at(-1)?.name).toBe('end')
  })

  it('cancels after a step with a checkpoint, and resumes to the end', async () => {
    const run = await call<{ jobId: string; runId: string; runDir: string }>('startTraining', {
      datasetId,
      settings: { ...tiny, epochs: 3 },
      name: 'cancelled'
    })
    await firstEvent(run.jobId, 'step')
    await call('cancelJob', { jobId: run.jobId })
    expect(await ended(run.jobId)).toMatchObject({ state: 'cancelled' })
    const listed = (await call<Array<{ runId: string; state: string }>>('listRuns', {})).find(
      (r) => r.runId === run.runId
    )
    expect(listed?.state).toBe('cancelled')
    const resumed = await call<{ jobId: string; runId: string }>('resumeTraining', { runId: run.runId })
    expect(resumed.runId).toBe(run.runId)
    expect(await ended(resumed.jobId)).toMatchObject({ state: 'done' })
    const start = events.find((e) => e.jobId === resumed.jobId && e.name === 'start')
    expect(start?.payload).toMatchObject({ resumed: true })
    const rows = parseResultsCsv(readFileSync(join(run.runDir, 'results.csv'), 'utf8'))
    expect(rows.map((row) => row.epoch)).toEqual([1, 2, 3])
  }, 300_000)

  it('fails the job with the reason when its worker is killed, and lists the run as failed', async () => {
    const run = await call<{ jobId: string; runId: string }>('startTraining', {
      datasetId,
      settings: { ...tiny, epochs: 50 },
      name: 'killed'
    })
    await firstEvent(run.jobId, 'step')
    // this test's own worker (a child of this process), never another test's or another program's
    const pid = spawnSync('pgrep', ['-n', '-P', String(process.pid), '-f', 'train-worker.js'])
      .stdout.toString()
      .trim()
    process.kill(Number(pid), 'SIGKILL')
    const job = await ended(run.jobId)
    expect(job.state).toBe('failed')
    expect(job.error).toMatch(/train-worker was killed \(SIGKILL\)/)
    const listed = (
      await call<Array<{ runId: string; state: string; error: string | null }>>('listRuns', {})
    ).find((r) => r.runId === run.runId)
    expect(listed).toMatchObject({ state: 'failed' })
    expect(listed?.error).toMatch(/killed/)
  }, 120_000)
})

describe('runs made elsewhere', () => {
  it('opens a CLI run by path, reads a dead writer as interrupted, and deletes only what is the workspace’s', async () => {
    const outside = join(base, 'cli-run')
    cliOutput([
      '--workspace',
      workspace,
      'train',
      root,
      '--out',
      outside,
      '--image-size',
      '128',
      '--width-multiplier',
      '0.25',
      '--depth-multiplier',
      '0.25',
      '--epochs',
      '1',
      '--batch-size',
      '4'
    ])
    const opened = await call<{ runId: string; source: string; state: string }>('openRun', { path: outside })
    expect(opened).toMatchObject({ source: 'opened', state: 'completed' })
    expect((await call<Array<{ runId: string }>>('listRuns', {})).map((r) => r.runId)).toContain(opened.runId)

    // a writer that died without a word: status.json says running, its process is gone
    const status = JSON.parse(readFileSync(join(outside, 'status.json'), 'utf8'))
    const dead = spawnSync(process.execPath, ['-e', 'process.pid']).pid!
    await writeFile(join(outside, 'status.json'), JSON.stringify({ ...status, state: 'running', pid: dead }))
    const listed = (await call<Array<{ runId: string; state: string }>>('listRuns', {})).find(
      (r) => r.runId === opened.runId
    )
    expect(listed?.state).toBe('interrupted')

    await expect(call('deleteRun', { runId: opened.runId })).resolves.toEqual({
      deleted: false,
      path: outside
    })
    expect(existsSync(outside)).toBe(true)
    expect((await call<Array<{ runId: string }>>('listRuns', {})).map((r) => r.runId)).not.toContain(
      opened.runId
    )

    const first = (await call<Array<{ runId: string; name: string; path: string }>>('listRuns', {})).find(
      (r) => r.name === 'first'
    )!
    await expect(call('deleteRun', { runId: first.runId })).resolves.toMatchObject({ deleted: true })
    expect(existsSync(first.path)).toBe(false)
    await expect(call('readRun', { runId: first.runId })).rejects.toThrow(
      /not in the workspace's runs folder/
    )
  }, 240_000)
})
