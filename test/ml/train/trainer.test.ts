// The training loop end to end on a small demo dataset (tiny model, 128 px, WASM backend).
import { existsSync } from 'node:fs'
import { readFile, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { UserError } from '../../../main/core/errors'
import { createDetector } from '../../../main/ml/detect/detector'
import type { NamedWeights } from '../../../main/ml/model/weights'
import { runEvaluation } from '../../../main/ml/predict/evaluate'
import {
  checkpointDir,
  loadCheckpoint,
  readCheckpointMeta,
  readOptimizerState
} from '../../../main/ml/runs/checkpoint'
import { parseResultsCsv } from '../../../main/ml/runs/results-csv'
import { readStudyFusion } from '../../../main/ml/predict/study-fusion-file'
import { readScalars } from '../../../main/ml/runs/tfevents'
import type { TrainArgs } from '../../../main/ml/train/config'
import type { EpochEvent, StepEvent } from '../../../main/ml/train/events'
import { train, type RunConfigFile, type TrainerState } from '../../../main/ml/train/trainer'
import { countingSource, demoDataset, removeAllBoxes, tempDir } from '../helpers'

let root: string
let workspace: string
const source = countingSource()

const args = (out: string, extra: Partial<TrainArgs> = {}): TrainArgs => ({
  dataset: root,
  out,
  workspace,
  imageSize: 128,
  widthMultiplier: 0.25,
  depthMultiplier: 0.25,
  batchSize: 4,
  // the data-parallel step (a helper thread takes half of each batch; the default on two cores):
  // resume, freezing and cancel are checked through it; that it equals one thread on the whole
  // batch is checked in gradient-helper.test.ts
  threads: 2,
  epochs: 2,
  valFraction: 0.25,
  backend: 'wasm',
  seed: 3,
  ...extra
})

async function lastWeights(run: string): Promise<NamedWeights> {
  const { detector } = await loadCheckpoint(checkpointDir(run, 'last'))
  const weights = detector.getWeights()
  detector.dispose()
  return weights
}

function changed(a: NamedWeights, b: NamedWeights, prefix: string): number {
  let count = 0
  for (const [name, weight] of a) {
    if (!name.startsWith(prefix)) continue
    const other = b.get(name)!
    if (weight.values.some((v, i) => v !== other.values[i])) count++
  }
  return count
}

function collect() {
  const steps: StepEvent[] = []
  const epochs: EpochEvent[] = []
  const emit = (name: string, payload: unknown) => {
    if (name === 'step') steps.push(payload as StepEvent)
    if (name === 'epoch') epochs.push(payload as EpochEvent)
  }
  return { steps, epochs, emit }
}

let straightRun: string
let straightEvents: ReturnType<typeof collect>

beforeAll(async () => {
  root = await demoDataset({ studies: 12 })
  workspace = await tempDir('ws')
  straightRun = join(await tempDir('run'), 'straight')
  straightEvents = collect()
  await train(args(straightRun), { source, emit: straightEvents.emit })
}, 300_000)

describe('a training run', () => {
  it('writes config.json with every argument, the backend, versions, dataset fingerprint and initialisation', async () => {
    const config = JSON.parse(await readFile(join(straightRun, 'config.json'), 'utf8')) as RunConfigFile
    expect(config.format).toBe('cxr-studio-run')
    expect(config.formatVersion).toBe(1)
    expect(config.train.epochs).toBe(2)
    expect(config.train.lr).toBe(1e-2)
    expect(config.train.defaults.lr).toMatch(/random initialisation/)
    expect(config.train.strategy).toEqual({ kind: 'no_freeze' })
    expect(config.backend.name).toBe('wasm')
    expect(config.versions.tfjs).toMatch(/^4\./)
    expect(config.dataset.fingerprint.sha256).toMatch(/^[0-9a-f]{64}$/)
    expect(config.initialisation).toEqual({ kind: 'random', seed: 3 })
    expect(config.detector.imageSize).toBe(128)
  })

  it('fits the box-evidence and fused study regressions on its labelled studies at the end (study-fusion.json)', async () => {
    const fusion = await readStudyFusion(straightRun)
    expect(fusion).not.toBeNull()
    expect(fusion!.fittedOn.studies).toBe(12)
    expect(fusion!.checkpoint.globalStep).toBeGreaterThan(0)
    for (const mode of ['box-evidence', 'fused'] as const) {
      expect(fusion!.models[mode].weights).toHaveLength(4)
      expect(fusion!.reports[mode].crossValidation.length).toBeGreaterThan(1)
    }
    expect(fusion!.models.fused.features.length).toBe(fusion!.models['box-evidence'].features.length + 4)
  })

  it('reports every step and every epoch, and writes one results.csv row per epoch', async () => {
    const { steps, epochs } = straightEvents
    const stepsPerEpoch = steps[0].stepsPerEpoch
    expect(steps).toHaveLength(2 * stepsPerEpoch)
    expect(steps.map((s) => s.globalStep)).toEqual(steps.map((_, i) => i + 1))
    for (const s of steps) {
      expect(Object.keys(s.loss)).toEqual(expect.arrayContaining(['total', 'cls', 'box', 'study', 'none']))
      expect(s.lr).toBeGreaterThan(0)
      expect(s.imagesPerSecond).toBeGreaterThan(0)
      expect(s.etaSeconds).toBeGreaterThanOrEqual(0)
    }
    expect(epochs.map((e) => e.epoch)).toEqual([1, 2])
    const rows = parseResultsCsv(await readFile(join(straightRun, 'results.csv'), 'utf8'))
    expect(rows.map((r) => r.epoch)).toEqual([1, 2])
    for (const [i, row] of rows.entries()) {
      expect(row['train/total_loss']).toBeCloseTo(epochs[i].train.total, 4)
      expect(row['train/box_loss']).toBeCloseTo(epochs[i].train.box, 4)
      expect(row['val/total_loss']).toBeCloseTo(epochs[i].val!.total, 4)
      expect(row.final).toBeCloseTo(epochs[i].final!, 4)
      expect(row['metrics/mAP50(B)']).toBe(row['ap/opacity'])
      expect(row['ap/negative']).not.toBeNull()
      expect(row['lr/pg0']).toBeGreaterThan(0)
      expect(row.time).toBeCloseTo(epochs[i].elapsed, 3)
    }
  })

  it('writes TensorBoard events with the same scalars as results.csv', async () => {
    const file = (await readdir(straightRun)).find((f) => f.startsWith('events.out.tfevents.'))!
    const scalars = readScalars(new Uint8Array(await readFile(join(straightRun, file))))
    const rows = parseResultsCsv(await readFile(join(straightRun, 'results.csv'), 'utf8'))
    for (const row of rows) {
      for (const tag of [
        'train/total_loss',
        'val/total_loss',
        'final',
        'ap/opacity',
        'studyMap',
        'lr/pg0',
        'time'
      ]) {
        const event = scalars.find((s) => s.tag === tag && s.step === row.epoch)
        expect(event, `${tag} at epoch ${row.epoch}`).toBeDefined()
        expect(event!.value).toBeCloseTo(row[tag]!, 4)
      }
    }
    expect(scalars.filter((s) => s.tag === 'step/total')).toHaveLength(straightEvents.steps.length)
  })

  it('checkpoints/last reloads to the recorded validation score (identical predictions)', async () => {
    const rows = parseResultsCsv(await readFile(join(straightRun, 'results.csv'), 'utf8'))
    const evaluation = await runEvaluation(
      {
        run: straightRun,
        dicomDir: root,
        workspace,
        checkpoint: 'last',
        backend: 'wasm',
        batchSize: 4,
        split: 'val',
        // validation during training scores `combined` (the fused regressions are fitted at the end)
        settings: { studyFrom: 'combined' }
      },
      { dataset: root, policy: 'keep-boxed' },
      { source }
    )
    expect(evaluation.report.final).toBeCloseTo(rows[1].final!, 6)
    expect(evaluation.report.ap.opacity ?? 0).toBeCloseTo(rows[1]['ap/opacity'] ?? 0, 6)
    const meta = await readCheckpointMeta<TrainerState>(checkpointDir(straightRun, 'last'))
    expect(meta).toMatchObject({
      epoch: 2,
      stepInEpoch: 0,
      inputSize: 128,
      head: 'efficientdet',
      classes: ['opacity']
    })
    expect(meta.trainer.history).toHaveLength(2)
  })
})

describe('cancel and resume', () => {
  it('cancel leaves a valid last checkpoint; resume continues from that step and optimizer state to the same weights', async () => {
    const run = join(await tempDir('run'), 'cancelled')
    const controller = new AbortController()
    const first = collect()
    const result = await train(args(run), {
      source,
      signal: controller.signal,
      emit: (name, payload) => {
        first.emit(name, payload)
        if (name === 'step' && (payload as StepEvent).globalStep === 3) controller.abort()
      }
    })
    expect(result.status).toBe('cancelled')
    const last = checkpointDir(run, 'last')
    const meta = await readCheckpointMeta<TrainerState>(last)
    expect(meta.globalStep).toBe(3)
    expect(meta.epoch * first.steps[0].stepsPerEpoch + meta.stepInEpoch).toBe(3)
    const optimizerState = await readOptimizerState(last)
    const someKernel = Object.values(optimizerState.params).find((p) => p.shape.length === 4)!
    expect(someKernel.step).toBe(3)
    const { detector } = await loadCheckpoint(last)
    detector.dispose()

    const second = collect()
    const resumed = await train({ ...args(run), resume: true }, { source, emit: second.emit })
    expect(resumed.status).toBe('completed')
    expect(second.steps[0].globalStep).toBe(4)
    expect(second.steps[0].lr).toBe(straightEvents.steps[3].lr)
    expect(second.steps.at(-1)!.globalStep).toBe(straightEvents.steps.at(-1)!.globalStep)

    const straight = await lastWeights(straightRun)
    const continued = await lastWeights(run)
    expect(changed(straight, continued, '')).toBe(0)
    const rowsA = parseResultsCsv(await readFile(join(straightRun, 'results.csv'), 'utf8'))
    const rowsB = parseResultsCsv(await readFile(join(run, 'results.csv'), 'utf8'))
    expect(rowsB.map((r) => [r.epoch, r['train/total_loss'], r.final])).toEqual(
      rowsA.map((r) => [r.epoch, r['train/total_loss'], r.final])
    )
    // `time` is cumulative across the cancel and the resume (Ultralytics' meaning): each row adds
    // at least its own epoch's seconds to the one before (1e-3 s: the CSV keeps 6 digits)
    let before = 0
    for (const row of rowsB) {
      expect(row.time!, `time at epoch ${row.epoch}`).toBeGreaterThanOrEqual(before + row.epoch_time! - 1e-3)
      before = row.time!
    }
  }, 300_000)

  it('refuses to start over a run without --resume, and to resume a run folder of another format version', async () => {
    await expect(train(args(straightRun), { source })).rejects.toThrow(/not empty; pass --resume/)
    const run = join(await tempDir('run'), 'future')
    await train(args(run, { epochs: 1 }), { source })
    const config = JSON.parse(await readFile(join(run, 'config.json'), 'utf8'))
    await writeFile(join(run, 'config.json'), JSON.stringify({ ...config, formatVersion: 99 }))
    await expect(train({ ...args(run), resume: true }, { source })).rejects.toThrow(
      /format version 99 is not supported/
    )
  }, 300_000)
})

describe('fine-tuning strategy', () => {
  it('freeze_unfreeze:1 keeps backbone weights and batch-norm statistics fixed in epoch 1 and trains them from epoch 2', async () => {
    const run = join(await tempDir('run'), 'freeze')
    await train(args(run, { epochs: 1, strategy: 'freeze_unfreeze:1' }), { source })
    const initial = createDetector({ imageSize: 128, widthMultiplier: 0.25, depthMultiplier: 0.25, seed: 3 })
    const start = initial.getWeights()
    initial.dispose()
    const afterOne = await lastWeights(run)
    expect(changed(start, afterOne, 'backbone/')).toBe(0)
    expect(changed(start, afterOne, 'head/')).toBeGreaterThan(0)
    expect(changed(start, afterOne, 'study/')).toBeGreaterThan(0)

    await train({ ...args(run), epochs: 2, resume: true }, { source })
    const afterTwo = await lastWeights(run)
    expect(changed(afterOne, afterTwo, 'backbone/')).toBeGreaterThan(0)
    const rows = parseResultsCsv(await readFile(join(run, 'results.csv'), 'utf8'))
    expect(rows).toHaveLength(2)
  }, 300_000)
})

describe('time limit', () => {
  it('stops cleanly with a checkpoint when the clock runs out', async () => {
    const run = join(await tempDir('run'), 'timed')
    let clock = 1_000_000
    const events = collect()
    const result = await train(args(run, { epochs: 5, timeLimitMinutes: 1 }), {
      source,
      now: () => clock,
      emit: (name, payload) => {
        events.emit(name, payload)
        if (name === 'step') clock += 25_000
      }
    })
    expect(result.status).toBe('time-limit')
    expect(result.globalStep).toBe(3)
    const meta = await readCheckpointMeta<TrainerState>(checkpointDir(run, 'last'))
    expect(meta.globalStep).toBe(3)
    // the cosine decay follows the clock: the learning rate falls although few steps were taken
    expect(events.steps[2].lr).toBeLessThan(events.steps[1].lr)
    const log = await readFile(join(run, 'train.log'), 'utf8')
    expect(log).toMatch(/time limit of 1 min/)
  }, 300_000)
})

describe('bad input', () => {
  it('a dataset without boxes is refused with the reason', async () => {
    const empty = await demoDataset({ studies: 4, testStudies: 1 })
    await removeAllBoxes(empty)
    const run = join(await tempDir('run'), 'nobox')
    const failure = train({ ...args(run), dataset: empty }, { source })
    await expect(failure).rejects.toThrow(UserError)
    await expect(failure).rejects.toThrow(/hold no opacity boxes/)
    // nothing is left behind, so the same --out works once the labels are fixed
    expect(existsSync(run)).toBe(false)
  })

  it('an image size the head cannot take is refused with the multiple it needs', async () => {
    const run = join(await tempDir('run'), 'badsize')
    await expect(train(args(run, { imageSize: 200 }), { source })).rejects.toThrow(/multiple of 128; got 200/)
  })
})
