// What the training dashboard shows, folded from a run's recorded files (readRun) and its job's
// events (attachJob's history, then live `jobEvent`s). Plain TypeScript, no Vue: the view keeps one
// of these in a shallowRef and redraws on a timer, and the unit tests feed it events directly.
import type {
  BestScore,
  EpochRecord,
  JobEnd,
  JobEvent,
  RunDetail,
  SamplesEvent,
  StepEvent,
  TrainStartEvent
} from '../../../common/contract'
import { bestEpoch } from '../../../common/best-epoch'
import type { BestBy } from '../../../common/training'
import { DecimatedSeries, type StepPoint } from './decimate'

/** Lines of train.log kept on screen. */
export const LOG_LINES = 500

/** Step scalars that are not loss parts. */
export const RATE_KEYS = ['lr', 'grad_norm', 'img/s'] as const

export interface DashboardState {
  /** The job whose events are folded in; null for a run shown from its files only. */
  jobId: string | null
  /** Highest `seq` of that job folded in: anything at or below it is a repeat. */
  lastSeq: number
  start: TrainStartEvent | null
  /** The newest step (progress, img/s, ETA). */
  step: StepEvent | null
  steps: DecimatedSeries
  /** One record per epoch, by epoch number. */
  epochs: EpochRecord[]
  best: BestScore | null
  samples: SamplesEvent | null
  log: string[]
  end: JobEnd | null
}

export function emptyDashboard(maxPoints = 2000): DashboardState {
  return {
    jobId: null,
    lastSeq: 0,
    start: null,
    step: null,
    steps: new DecimatedSeries(maxPoints),
    epochs: [],
    best: null,
    samples: null,
    log: [],
    end: null
  }
}

/** The run as its folder records it: step curves from the TensorBoard file, results.csv, the log's tail. */
export function loadRecorded(state: DashboardState, detail: RunDetail): void {
  const { steps, series } = detail.steps
  steps.forEach((step, i) => {
    const values: StepPoint['values'] = {}
    for (const [key, column] of Object.entries(series)) values[key] = column[i] ?? null
    state.steps.add({ step, values })
  })
  for (const record of detail.results) putEpoch(state, record)
  state.best = detail.summary.best ?? state.best ?? bestOf(state.epochs)
  if (detail.samples && (!state.samples || detail.samples.epoch >= state.samples.epoch))
    state.samples = detail.samples
  // live lines are newer than the file's tail; the file only fills an empty log
  if (!state.log.length) state.log = detail.log.slice(-LOG_LINES)
}

/** Folds the events of another job from now on (a resumed run is a new job: its seq starts at 1 again). */
export function switchJob(state: DashboardState, jobId: string): void {
  if (state.jobId === jobId) return
  state.jobId = jobId
  state.lastSeq = 0
  state.start = null
  state.end = null
}

/** Folds events of the current job in `seq` order; repeats and other jobs' events are skipped. */
export function applyEvents(state: DashboardState, events: readonly JobEvent[]): number {
  let applied = 0
  const ordered = [...events].sort((a, b) => a.seq - b.seq)
  for (const event of ordered) {
    if (event.jobId !== state.jobId || event.seq <= state.lastSeq) continue
    state.lastSeq = event.seq
    applyEvent(state, event)
    applied++
  }
  return applied
}

function applyEvent(state: DashboardState, event: JobEvent): void {
  switch (event.name) {
    case 'start':
      state.start = event.payload
      break
    case 'step':
      state.step = event.payload
      state.steps.add(stepPoint(event.payload))
      break
    case 'epoch': {
      const { epochs: _epochs, improved: _improved, best, ...record } = event.payload
      putEpoch(state, record)
      if (best) state.best = best
      break
    }
    case 'samples':
      state.samples = event.payload
      break
    case 'log':
      state.log.push(event.payload.line)
      if (state.log.length > LOG_LINES) state.log.splice(0, state.log.length - LOG_LINES)
      break
    case 'end':
      state.end = event.payload
      break
  }
}

/** A step event under the names the run's TensorBoard file uses (`step/total` → `total`, …). */
export function stepPoint(step: StepEvent): StepPoint {
  return {
    step: step.globalStep,
    values: { ...step.loss, lr: step.lr, grad_norm: step.gradNorm, 'img/s': step.imagesPerSecond }
  }
}

function putEpoch(state: DashboardState, record: EpochRecord): void {
  const at = state.epochs.findIndex((e) => e.epoch >= record.epoch)
  if (at === -1) state.epochs.push(record)
  else if (state.epochs[at].epoch === record.epoch) state.epochs[at] = record
  else state.epochs.splice(at, 0, record)
}

/** The best epoch as the trainer picks it by `rule` (common/best-epoch.ts; runs of older versions: `final`). */
export function bestOf(epochs: readonly EpochRecord[], rule: BestBy = 'final'): BestScore | null {
  return bestEpoch(epochs, rule)
}

/** Loss parts among the step scalars (`total` first). */
export function lossKeys(state: DashboardState): string[] {
  const keys = state.steps.keys().filter((key) => !(RATE_KEYS as readonly string[]).includes(key))
  return [...keys.filter((k) => k === 'total'), ...keys.filter((k) => k !== 'total')]
}

export interface RunProgress {
  epoch: number
  /** Planned epochs; null when the run trains until its time limit. */
  epochs: number | null
  step: number
  stepsPerEpoch: number
  /** 0..1 within the current epoch. */
  epochFraction: number
  /** 0..1 of the whole run (epochs, or minutes of the time limit). */
  runFraction: number
  /** e.g. `epoch 3 / 30` or `6.2 / 15 min`. */
  runLabel: string
  etaSeconds: number
  elapsedSeconds: number
  imagesPerSecond: number
}

/** Where the run is, from its start event and newest step; null before the first step. */
export function progressOf(state: DashboardState): RunProgress | null {
  const { step, start } = state
  if (!step) return null
  const untilTimeLimit = start?.untilTimeLimit ?? false
  const limitSeconds = (start?.timeLimitMinutes ?? 0) * 60
  const epochFraction = step.stepsPerEpoch > 0 ? step.step / step.stepsPerEpoch : 0
  let runFraction: number
  let runLabel: string
  if (untilTimeLimit && limitSeconds > 0) {
    // the ETA is what is left of this session's clock
    const used = Math.max(0, limitSeconds - step.etaSeconds)
    runFraction = used / limitSeconds
    runLabel = `${(used / 60).toFixed(1)} / ${start!.timeLimitMinutes} min`
  } else {
    runFraction = step.epochs > 0 ? (step.epoch - 1 + epochFraction) / step.epochs : 0
    runLabel = `epoch ${step.epoch} / ${step.epochs}`
  }
  return {
    epoch: step.epoch,
    epochs: untilTimeLimit ? null : step.epochs,
    step: step.step,
    stepsPerEpoch: step.stepsPerEpoch,
    epochFraction: clamp01(epochFraction),
    runFraction: clamp01(runFraction),
    runLabel,
    etaSeconds: step.etaSeconds,
    elapsedSeconds: step.elapsedSeconds,
    imagesPerSecond: step.imagesPerSecond
  }
}

const clamp01 = (value: number) => (Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : 0)
