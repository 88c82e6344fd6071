// Prediction review through the back end: a prediction started as a job and stored with its run and
// dataset, its score equal to `cxr-studio evaluate`, the viewer layer (stored prediction or a CSV
// with malformed rows), the Evaluation figures, and exports the CLI agrees with.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type {
  Evaluation,
  ExportResult,
  ImagePredictions,
  OutputCheck,
  PredictionSummary,
  PredictionTable,
  PredictionsSummary
} from '../../common/contract'
import { SCORED_CLASSES } from '../../common/domain'
import { createBackend, type Backend } from '../../main/backend/index'
import { generateDemo } from '../../main/core/demo'
import { importCoco } from '../../main/core/export/coco-import'
import { cliOutput } from '../cli'
import { caller, jobEnded } from './helpers'

let base: string
let root: string
let workspace: string
let runDir: string
let backend: Backend
let datasetId: string
let runId: string

const runCli = (args: string[]) => cliOutput(['--workspace', workspace, ...args])
const call = caller(() => backend)
const ended = (jobId: string) => jobEnded(backend, jobId)

beforeAll(async () => {
  base = mkdtempSync(join(tmpdir(), 'cxr-predictions-'))
  root = join(base, 'siim')
  workspace = join(base, 'workspace')
  runDir = join(workspace, 'runs', 'tiny')
  await generateDemo(root, { studies: 12, testStudies: 3, seed: 11 })
  runCli([
    'train',
    root,
    '--out',
    runDir,
    '--image-size',
    '128',
    '--width-multiplier',
    '0.25',
    '--depth-multiplier',
    '0.25',
    '--epochs',
    '3',
    '--batch-size',
    '4',
    '--val-fraction',
    '0.3',
    '--lr',
    '0.02'
  ])
  backend = createBackend({ workspace, host: 'web', logError: () => undefined })
  datasetId = (await backend.handlers.openDataset({ path: root })).datasetId
  runId = (await call<Array<{ runId: string; name: string }>>('listRuns', {})).find(
    (r) => r.name === 'tiny'
  )!.runId
}, 300_000)

afterAll(async () => {
  await backend?.close()
  rmSync(base, { recursive: true, force: true })
})

describe('a prediction made from the back end', () => {
  let predictionId: string

  it('predicts the test split as a job, stores it with its run and dataset, and scores it as `evaluate` does', async () => {
    const started = await call<{ jobId: string; predictionId: string; path: string }>('startPrediction', {
      runId,
      datasetId,
      scope: 'test',
      checkpoint: 'last'
    })
    predictionId = started.predictionId
    expect(await ended(started.jobId)).toMatchObject({ state: 'done', kind: 'predict' })
    expect(existsSync(join(started.path, 'predictions.json'))).toBe(true)
    const [listed] = await call<PredictionSummary[]>('listPredictions', {})
    expect(listed).toMatchObject({
      predictionId,
      scope: 'test',
      run: { runId, path: runDir },
      dataset: { datasetId, root },
      checkpoint: { name: 'last', epoch: 3 }
    })
    expect(listed.truth?.source).toMatch(/test_study_level\.csv/)
    const evaluated = JSON.parse(runCli(['evaluate', runDir, root, '--checkpoint', 'last', '--json'])) as {
      final: number
      ap: Record<string, number | null>
    }
    expect(listed.score?.final).toBe(evaluated.final)
    expect(listed.score?.ap).toEqual(evaluated.ap)
  }, 240_000)

  it('becomes the viewer layer: boxes, none score and study probabilities per image, and the whole table', async () => {
    const layer = await call<PredictionsSummary>('usePredictions', { datasetId, predictionId })
    expect(layer).toMatchObject({ kind: 'prediction', predictionId, rowErrors: [] })
    const table = await call<PredictionTable>('predictionTable', { datasetId })
    expect(table.layer?.predictionId).toBe(predictionId)
    expect(table.images.length).toBe(layer.images)
    const first = table.images[0]
    const image = await call<ImagePredictions>('predictions', { datasetId, imageId: first.imageId })
    expect(image.boxes.map((b) => [b.x, b.y, b.x + b.width, b.y + b.height, b.score])).toEqual(first.boxes)
    expect(image.none).toBe(first.none)
    expect(Object.keys(image.study?.probabilities ?? {}).sort()).toEqual([
      'atypical',
      'indeterminate',
      'negative',
      'typical'
    ])
    expect(await call('usePredictions', { datasetId, predictionId: null })).toBeNull()
    expect((await call<PredictionTable>('predictionTable', { datasetId })).layer).toBeNull()
  })

  it('evaluates to the stored score, with curves, a confusion matrix and histograms that add up', async () => {
    const [summary] = await call<PredictionSummary[]>('listPredictions', {})
    const evaluation = await call<Evaluation>('evaluatePrediction', { predictionId })
    expect(evaluation.report.final).toBe(summary.score?.final)
    expect(evaluation.atThreshold).toMatchObject({ threshold: 0, final: summary.score?.final })
    const studies = evaluation.confusion.matrix.flat().reduce((a, b) => a + b, 0)
    expect(studies).toBe(
      SCORED_CLASSES.slice(0, 4).reduce((n, c) => n + evaluation.report.classes[c].groundTruth, 0)
    )
    for (const cls of SCORED_CLASSES) {
      const { truePositives, falsePositives } = evaluation.histograms.classes[cls]
      expect(
        truePositives.reduce((a, b) => a + b, 0),
        cls
      ).toBe(evaluation.report.classes[cls].truePositives)
      expect(
        falsePositives.reduce((a, b) => a + b, 0),
        cls
      ).toBe(evaluation.report.classes[cls].falsePositives)
    }
    // a threshold keeps only the confident detections: fewer are scored
    const strict = await call<Evaluation>('evaluatePrediction', { predictionId, threshold: 0.9 })
    expect(strict.atThreshold.threshold).toBe(0.9)
    expect(strict.report.final).toBe(evaluation.report.final)
  })

  it('writes a submission that validate-submission accepts and `score` scores as the Evaluation view does', async () => {
    const target = await call<OutputCheck>('checkOutput', { kind: 'file', suggest: 'submission.csv' })
    expect(target.path.startsWith(join(workspace, 'exports'))).toBe(true)
    const started = await call<{ jobId: string; out: string }>('exportPrediction', {
      format: 'submission',
      predictionId,
      out: target.path
    })
    const job = await ended(started.jobId)
    expect(job.state).toBe('done')
    expect((job.result as ExportResult).summary[0]).toMatch(/validated/)
    runCli(['validate-submission', target.path, '--sample', join(root, 'sample_submission.csv')])
    const scored = JSON.parse(
      runCli(['score', root, '--truth', 'test', '--submission', target.path, '--json'])
    ) as {
      final: number
    }
    const evaluation = await call<Evaluation>('evaluatePrediction', { predictionId })
    expect(scored.final).toBeCloseTo(evaluation.report.final!, 10)
    // never over an existing file without being told
    await expect(
      call('exportPrediction', { format: 'submission', predictionId, out: target.path })
    ).rejects.toThrow(/exists already/)
    await expect(
      call('exportPrediction', {
        format: 'submission',
        predictionId,
        out: join(root, 'mine.csv'),
        overwrite: true
      })
    ).rejects.toThrow(/inside the dataset folder/)
  }, 120_000)

  it('writes COCO results that read back to the predicted boxes', async () => {
    const out = join(base, 'coco-results')
    const started = await call<{ jobId: string }>('exportPrediction', {
      format: 'coco-results',
      predictionId,
      out
    })
    expect(await ended(started.jobId)).toMatchObject({ state: 'done' })
    const imported = await importCoco(join(out, 'results.json'), { imagesJson: join(out, 'images.json') })
    const doc = JSON.parse(
      readFileSync(join(workspace, 'predictions', predictionId, 'predictions.json'), 'utf8')
    ) as {
      images: Array<{
        imageId: string
        boxes: Array<{ x1: number; y1: number; x2: number; y2: number; confidence: number }>
      }>
    }
    for (const image of doc.images) {
      const back = imported.images.find((i) => i.imageId === image.imageId)!
      expect(back.boxes.map((b) => [b.x, b.y, b.x + b.width, b.y + b.height, b.score])).toEqual(
        image.boxes.map((b) => [b.x1, b.y1, b.x1 + (b.x2 - b.x1), b.y1 + (b.y2 - b.y1), b.confidence])
      )
    }
    // the CLI writes the same files from the same predictions
    const cliOut = join(base, 'coco-results-cli')
    runCli([
      'coco-results',
      join(workspace, 'predictions', predictionId, 'predictions.json'),
      '--out',
      cliOut
    ])
    expect(readFileSync(join(cliOut, 'results.json'), 'utf8')).toBe(
      readFileSync(join(out, 'results.json'), 'utf8')
    )
  })
})

describe('cancelling a prediction', () => {
  it('stops the worker within a batch and stores nothing', async () => {
    let last = { done: 0, total: 0 }
    let started: { jobId: string; path: string } | null = null
    const stop = backend.jobs.onJob((job) => {
      if (!started || job.jobId !== started.jobId || !job.progress || job.progress.stage !== 'predict') return
      last = job.progress
      // as soon as inference starts
      if (job.progress.done === 0) backend.jobs.cancel(job.jobId)
    })
    const before = (await call<PredictionSummary[]>('listPredictions', {})).length
    started = await call<{ jobId: string; path: string }>('startPrediction', {
      runId,
      datasetId,
      scope: 'all',
      // ONNX Runtime predicts the tiny demo model's images in a few ms a batch, less than a cancel's
      // round trip to the worker takes; tfjs's batches leave it time (both run the same batch loop)
      runtime: 'tfjs'
    })
    expect(await ended(started.jobId)).toMatchObject({ state: 'cancelled' })
    stop()
    expect(last.total).toBeGreaterThan(8)
    expect(last.done, 'the worker read the cancel before predicting every image').toBeLessThan(last.total)
    expect(existsSync(started.path)).toBe(false)
    expect(await call<PredictionSummary[]>('listPredictions', {})).toHaveLength(before)
  }, 120_000)
})

describe('a submission CSV as the layer', () => {
  it('loads the readable rows and reports the malformed ones with their line numbers', async () => {
    const imageId = (
      await call<Array<{ imageId: string; split: string; error: string | null }>>('listImages', { datasetId })
    ).find((row) => row.split === 'test' && !row.error)!.imageId
    const csv = join(workspace, 'partly-broken.csv')
    writeFileSync(
      csv,
      [
        'id,PredictionString',
        `${imageId}_image,opacity 0.8 10 20 110 220 none 0.1 0 0 1 1`,
        `${imageId.slice(0, 6)}bad_image,opacity 0.8 10 20`,
        'somethingelse,negative 1 0 0 1 1'
      ].join('\n') + '\n'
    )
    const layer = await call<PredictionsSummary>('loadPredictions', { datasetId, path: csv })
    expect(layer).toMatchObject({ kind: 'submission-csv', source: csv, name: 'partly-broken.csv', boxes: 1 })
    expect(layer.rowErrors.map((e) => e.line)).toEqual([3, 4])
    expect(layer.rowErrors[0].message).toMatch(/token/)
    const image = await call<ImagePredictions>('predictions', { datasetId, imageId })
    expect(image.boxes).toEqual([{ label: 'opacity', score: 0.8, x: 10, y: 20, width: 100, height: 200 }])
    expect(image.none).toBe(0.1)
  })
})

describe('dataset exports from the back end', () => {
  it('writes the same COCO files as `cxr-studio coco` with the same options', async () => {
    const out = join(base, 'coco-gui')
    const check = await call<OutputCheck>('checkOutput', {
      path: join(root, 'inside'),
      kind: 'folder',
      suggest: 'x'
    })
    expect(check.problem).toMatch(/inside the dataset folder/)
    const started = await call<{ jobId: string }>('exportDataset', {
      datasetId,
      format: 'coco',
      valFraction: 0.25,
      seed: 7,
      policy: 'keep-boxed',
      out
    })
    expect(await ended(started.jobId)).toMatchObject({ state: 'done' })
    const cliOut = join(base, 'coco-cli')
    runCli(['coco', root, '--out', cliOut, '--val-fraction', '0.25', '--seed', '7', '--policy', 'keep-boxed'])
    for (const file of ['train.json', 'val.json']) {
      const gui = JSON.parse(readFileSync(join(out, file), 'utf8'))
      const fromCli = JSON.parse(readFileSync(join(cliOut, file), 'utf8'))
      delete gui.info.date_created
      delete fromCli.info.date_created
      expect(gui, file).toEqual(fromCli)
    }
  }, 120_000)
})
