// Payloads of the training job's events (sent with ctx.emit by the train worker): the CLI draws
// them as progress lines, the training dashboard as live charts.
import type { EpochRecord, LossParts } from '../runs/results-csv'
import type { BackendInfo } from '../backend/ladder'

/** After every optimizer step. */
export interface StepEvent {
  /** 1-based epoch and step within it. */
  epoch: number
  epochs: number
  step: number
  stepsPerEpoch: number
  globalStep: number
  loss: LossParts
  lr: number
  gradNorm: number
  imagesPerSecond: number
  /** Seconds until the run ends (the epochs, or the time limit if sooner). */
  etaSeconds: number
  elapsedSeconds: number
}

/** After every epoch (training and validation). */
export interface EpochEvent extends EpochRecord {
  epochs: number
  improved: boolean
  best: BestScore | null
}

export interface BestScore {
  epoch: number
  /** What was compared: the competition score on validation, or the validation loss without one. */
  metric: 'final' | 'val/total'
  value: number
  /** The epoch's validation loss: breaks ties of the score (absent in runs of older versions). */
  valLoss?: number | null
}

export type TrainStatus = 'completed' | 'cancelled' | 'time-limit' | 'early-stopped'

/** Sent once at the start, after the data are ready. */
export interface TrainStartEvent {
  runDir: string
  backend: BackendInfo
  resumed: boolean
  trainImages: number
  valImages: number
  stepsPerEpoch: number
  /** The epoch cap (a formality when the run trains until its time limit). */
  epochs: number
  timeLimitMinutes: number | null
  untilTimeLimit: boolean
  startEpoch: number
  parameters: { total: number; trainable: number }
}

export interface TrainResult {
  runDir: string
  status: TrainStatus
  /** Epochs with a results.csv row. */
  epochsCompleted: number
  globalStep: number
  best: BestScore | null
  lastCheckpoint: string | null
  bestCheckpoint: string | null
  backend: BackendInfo
  history: EpochRecord[]
}
