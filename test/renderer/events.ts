// Training job events as the back end sends them, for the dashboard's unit tests.
import type { EpochRecord, JobEvent, JobEventOf, StepEvent, TrainStartEvent } from '../../common/contract'

export function startEvent(
  jobId: string,
  seq: number,
  over: Partial<TrainStartEvent> = {}
): JobEventOf<'start'> {
  return {
    jobId,
    seq,
    at: seq,
    name: 'start',
    payload: {
      runDir: '/ws/runs/a',
      backend: {
        name: 'wasm',
        device: 'CPU',
        tfjsVersion: '4.22.0',
        backendVersion: '4.22.0',
        threads: 1,
        fallbacks: [{ backend: '@tensorflow/tfjs-node-gpu', reason: 'not installed' }],
        package: '@tensorflow/tfjs-backend-wasm',
        simd: true
      },
      resumed: false,
      trainImages: 80,
      valImages: 10,
      stepsPerEpoch: 10,
      epochs: 3,
      timeLimitMinutes: null,
      untilTimeLimit: false,
      startEpoch: 1,
      parameters: { total: 1000, trainable: 1000 },
      ...over
    }
  }
}

export function stepEvent(
  jobId: string,
  seq: number,
  globalStep: number,
  over: Partial<StepEvent> = {}
): JobEventOf<'step'> {
  const stepsPerEpoch = over.stepsPerEpoch ?? 10
  return {
    jobId,
    seq,
    at: seq,
    name: 'step',
    payload: {
      epoch: Math.floor((globalStep - 1) / stepsPerEpoch) + 1,
      epochs: 3,
      step: ((globalStep - 1) % stepsPerEpoch) + 1,
      stepsPerEpoch,
      globalStep,
      loss: { total: 10 / globalStep, cls: 5 / globalStep, box: 3 / globalStep },
      lr: 0.01,
      gradNorm: 1,
      imagesPerSecond: 4,
      etaSeconds: 100,
      elapsedSeconds: globalStep,
      ...over
    }
  }
}

export function epochRecord(epoch: number, final: number | null, valLoss = 1 / epoch): EpochRecord {
  return {
    epoch,
    train: { total: 2 / epoch },
    val: { total: valLoss },
    ap: { negative: 0.5, typical: 0.5, indeterminate: 0.2, atypical: 0.1, opacity: 0.3, none: 0.6 },
    studyMap: 0.325,
    imageMap: 0.45,
    final,
    lr: 0.01,
    seconds: 10,
    elapsed: 10 * epoch,
    frozen: []
  }
}

export function epochEvent(
  jobId: string,
  seq: number,
  epoch: number,
  final: number | null
): JobEventOf<'epoch'> {
  const record = epochRecord(epoch, final)
  return {
    jobId,
    seq,
    at: seq,
    name: 'epoch',
    payload: {
      ...record,
      epochs: 3,
      improved: true,
      best: final === null ? null : { epoch, metric: 'final', value: final, valLoss: record.val!.total }
    }
  }
}

export function logEvent(jobId: string, seq: number, line: string): JobEvent {
  return { jobId, seq, at: seq, name: 'log', payload: { line } }
}

export function endEvent(
  jobId: string,
  seq: number,
  state: 'done' | 'cancelled' | 'failed' = 'done'
): JobEvent {
  return { jobId, seq, at: seq, name: 'end', payload: { state, error: null } }
}
