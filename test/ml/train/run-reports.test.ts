// What a training run reports besides its numbers: the validation samples after every epoch (event
// and samples.json), every train.log line as a `log` event, and status.json from start to end.
// One run trained in two sessions (cancelled in epoch 2, then resumed) on a small demo dataset.
import { readFileSync } from 'node:fs'
import { readFile, rename } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { LogEvent, RunStatusFile, SamplesEvent } from '../../../common/contract/training'
import { STUDY_CLASSES } from '../../../common/domain'
import { parseImageCsv, parseStudyCsv } from '../../../main/core/labels'
import { readRunStatus } from '../../../main/ml/runs/run-status'
import type { TrainArgs } from '../../../main/ml/train/config'
import type { TrainResult } from '../../../main/ml/train/events'
import { train } from '../../../main/ml/train/trainer'
import { countingSource, demoDataset, tempDir } from '../helpers'

let root: string
let workspace: string
let run: string
const source = countingSource()

const args = (extra: Partial<TrainArgs> = {}): TrainArgs => ({
  dataset: root,
  out: run,
  workspace,
  imageSize: 128,
  widthMultiplier: 0.25,
  depthMultiplier: 0.25,
  batchSize: 4,
  threads: 1,
  epochs: 5,
  // predicted boxes pass the 0.02 score threshold from epoch 4 at this rate (at the default 1e-2: epoch 7)
  lr: 0.02,
  valFraction: 0.25,
  backend: 'wasm',
  seed: 3,
  ...extra
})

/** What one session sent, and status.json as read while it trained. */
interface Session {
  result: TrainResult
  samples: SamplesEvent[]
  log: string[]
  statusWhileTraining: RunStatusFile[]
  logAfter: string[]
}

function readStatusNow(): RunStatusFile {
  return RunStatusFile.parse(JSON.parse(readFileSync(join(run, 'status.json'), 'utf8')))
}

async function session(
  trainArgs: TrainArgs,
  cancelAtStep?: (stepsPerEpoch: number) => number
): Promise<Session> {
  const controller = new AbortController()
  const samples: SamplesEvent[] = []
  const log: string[] = []
  const statusWhileTraining: RunStatusFile[] = []
  let stepsPerEpoch = 0
  let steps = 0
  const result = await train(trainArgs, {
    source,
    signal: controller.signal,
    emit: (name, payload) => {
      if (name === 'start') stepsPerEpoch = (payload as { stepsPerEpoch: number }).stepsPerEpoch
      if (name === 'samples') samples.push(SamplesEvent.parse(payload))
      if (name === 'log') log.push(LogEvent.parse(payload).line)
      // read synchronously: the file as it is at this moment of training
      if (name === 'step') steps++
      if (name === 'epoch' || (name === 'step' && steps === 1)) statusWhileTraining.push(readStatusNow())
      if (name === 'step' && (payload as { globalStep: number }).globalStep === cancelAtStep?.(stepsPerEpoch))
        controller.abort()
    }
  })
  const logAfter = (await readFile(join(run, 'train.log'), 'utf8')).trimEnd().split('\n')
  return { result, samples, log, statusWhileTraining, logAfter }
}

let first: Session
let second: Session

beforeAll(async () => {
  root = await demoDataset({ studies: 12 })
  workspace = await tempDir('ws')
  run = join(await tempDir('run'), 'reports')
  first = await session(args(), (stepsPerEpoch) => stepsPerEpoch + 1)
  second = await session(args({ resume: true }))
}, 300_000)

describe('validation samples', () => {
  it('shows the same validation images after every epoch and after a resume, up to two per study class', async () => {
    expect(first.samples.map((s) => s.epoch)).toEqual([1])
    expect(second.samples.map((s) => s.epoch)).toEqual([2, 3, 4, 5])
    const epoch1 = first.samples[0]
    const ids = epoch1.images.map((image) => image.imageId)
    for (const later of second.samples) expect(later.images.map((image) => image.imageId)).toEqual(ids)
    expect(epoch1.datasetRoot).toBe(root)

    const split = JSON.parse(await readFile(join(run, 'split.json'), 'utf8')) as { valStudies: string[] }
    const classes = epoch1.images.map((image) => image.truthClass)
    expect(new Set(classes).size).toBeGreaterThanOrEqual(2)
    expect(ids.length).toBeLessThanOrEqual(8)
    for (const cls of STUDY_CLASSES) expect(classes.filter((c) => c === cls).length).toBeLessThanOrEqual(2)
    for (const image of epoch1.images) expect(split.valStudies).toContain(image.studyId)
  })

  it("pairs each image's label with the prediction in original DICOM pixels", async () => {
    const { labels: imageLabels } = parseImageCsv(await readFile(join(root, 'train_image_level.csv'), 'utf8'))
    const { labels: studyLabels } = parseStudyCsv(await readFile(join(root, 'train_study_level.csv'), 'utf8'))
    const samples = second.samples.at(-1)!
    let predicted = 0
    for (const image of samples.images) {
      expect(image.truthBoxes).toEqual(imageLabels.find((l) => l.imageId === image.imageId)!.boxes)
      expect(image.truthClass).toBe(studyLabels.find((l) => l.studyId === image.studyId)!.label)
      expect(image.path).toMatch(/\.dcm$/)
      expect(image.boxes.length).toBeLessThanOrEqual(10)
      for (const [i, box] of image.boxes.entries()) {
        expect(box.x1).toBeGreaterThanOrEqual(0)
        expect(box.y1).toBeGreaterThanOrEqual(0)
        expect(box.x2).toBeLessThanOrEqual(image.width)
        expect(box.y2).toBeLessThanOrEqual(image.height)
        expect(box.x2 - box.x1).toBeGreaterThanOrEqual(1)
        if (i > 0) expect(box.confidence).toBeLessThanOrEqual(image.boxes[i - 1].confidence)
      }
      predicted += image.boxes.length
      expect(Object.keys(image.studyProbs).sort()).toEqual([...STUDY_CLASSES].sort())
    }
    expect(predicted).toBeGreaterThan(0)
    // the model sees 128 px; boxes reaching past that are in the images' own (larger) pixels
    expect(Math.max(...samples.images.flatMap((image) => image.boxes.map((b) => b.x2)))).toBeGreaterThan(128)
  })

  it('samples.json holds the last epoch’s samples', async () => {
    const file = JSON.parse(await readFile(join(run, 'samples.json'), 'utf8'))
    expect(file).toEqual(second.samples.at(-1))
  })
})

describe('log events', () => {
  it('every line written to train.log is sent as a log event, in order', () => {
    expect(first.log).toEqual(first.logAfter)
    expect(first.log.at(-1)).toMatch(/Z cancelled; last checkpoint/)
    expect(second.logAfter).toEqual([...first.logAfter, ...second.log])
    expect(second.log[0]).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z resuming from /)
  })
})

describe('status.json', () => {
  it('says running while the run trains (from its first step, after every epoch), with this process and the epochs done', () => {
    expect(first.statusWhileTraining.map((s) => [s.state, s.epochs])).toEqual([
      ['running', 0],
      ['running', 1]
    ])
    expect(second.statusWhileTraining.map((s) => [s.state, s.epochs])).toEqual([
      ['running', 1],
      ['running', 2],
      ['running', 3],
      ['running', 4],
      ['running', 5]
    ])
    const status = first.statusWhileTraining[0]
    expect(status).toMatchObject({ pid: process.pid, hostname: hostname(), error: null })
    expect(Date.parse(second.statusWhileTraining[0].startedAt)).toBeGreaterThanOrEqual(
      Date.parse(status.updatedAt)
    )
  })

  it('records how each session ended: cancelled, then completed', async () => {
    expect(first.result.status).toBe('cancelled')
    expect(second.result.status).toBe('completed')
    expect(await readRunStatus(run)).toMatchObject({ state: 'completed', epochs: 5, error: null })
  })

  it('says failed with the reason when a resume cannot find its dataset', async () => {
    const moved = `${root}-moved`
    await rename(root, moved)
    try {
      const failure = train(args({ epochs: 6, resume: true }), { source })
      await expect(failure).rejects.toThrow(/no such folder/)
      const status = await readRunStatus(run)
      expect(status).toMatchObject({ state: 'failed', epochs: 5 })
      expect(status!.error).toContain(`${root}: no such folder`)
      expect(await readFile(join(run, 'train.log'), 'utf8')).toMatch(/failed: .*no such folder\n$/)
    } finally {
      await rename(moved, root)
    }
  })
})
