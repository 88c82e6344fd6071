// What a run records about itself: config.json, and the trainer state every checkpoint carries.
import type { StudyFrom } from '../../../common/domain'
import type { BackendInfo } from '../backend/ladder'
import { STUDY_HEAD_REASON } from '../detect/config'
import { DEFAULT_STUDY_FROM, STUDY_FROM_REASON } from '../predict/study-level'
import type { TrainingData } from '../data/prepare'
import type { Detector } from '../detect/detector'
import type { EpochRecord, LossParts } from '../runs/results-csv'
import { RUN_FORMAT, RUN_FORMAT_VERSION } from '../runs/run-folder'
import type { TrainConfig } from './config'
import type { BestScore, TrainStatus } from './events'
import { APP_VERSION, runVersions } from './versions'

/** The trainer's position and memory, saved in every checkpoint. */
export interface TrainerState {
  /** 0-based epoch in progress, and its optimizer steps done. */
  epoch: number
  stepInEpoch: number
  globalStep: number
  /** Loss sums of the epoch in progress (so a resumed epoch reports the whole epoch). */
  epochLoss: { sums: LossParts; count: number }
  /** Training milliseconds over all sessions. */
  elapsedMs: number
  /** How far the cosine decay got (time-limited runs decay by the clock). */
  scheduleProgress: number
  best: BestScore | null
  epochsWithoutImprovement: number
  history: EpochRecord[]
  status: TrainStatus | 'running'
}

/** config.json of a run. */
export interface RunConfigFile {
  format: typeof RUN_FORMAT
  formatVersion: number
  createdAt: string
  appVersion: string
  train: TrainConfig
  detector: Detector['config']
  initialisation: Detector['initialisation']
  parameters: { total: number; trainable: number }
  backend: BackendInfo
  versions: Record<string, string>
  dataset: ReturnType<typeof datasetSummary>
  lossKeys: string[]
  classPriors: Record<string, number>
  stepsPerEpoch: number
  /**
   * The study mode this run predicts with unless told otherwise, and why it is the default (the
   * measurement that chose it). Absent in runs of older versions: they use DEFAULT_STUDY_FROM.
   */
  studyFrom?: StudyFrom
  studyFromReason?: string
  /** Why the default study head is what it is (the run's own head: detector.studyHead). */
  studyHeadReason?: string
}

function datasetSummary(data: TrainingData) {
  return {
    fingerprint: data.fingerprint,
    trainImages: data.train.length,
    valImages: data.val.length,
    trainStudies: data.trainStudies.length,
    valStudies: data.valStudies.length,
    errors: data.errors.length
  }
}

export function freshState(): TrainerState {
  return {
    epoch: 0,
    stepInEpoch: 0,
    globalStep: 0,
    epochLoss: { sums: {}, count: 0 },
    elapsedMs: 0,
    scheduleProgress: 0,
    best: null,
    epochsWithoutImprovement: 0,
    history: [],
    status: 'running'
  }
}

/** The loss parts this detector reports, `total` first. */
function lossKeysOf(detector: Detector): string[] {
  return ['total', 'cls', 'box', ...(detector.config.head === 'fcos' ? ['centerness'] : []), 'study', 'none']
}

/** config.json of a new run: every argument, the model, backend, versions and the data it saw. */
export function runConfigFile(
  config: TrainConfig,
  detector: Detector,
  backend: BackendInfo,
  data: TrainingData,
  stepsPerEpoch: number
): RunConfigFile {
  return {
    format: RUN_FORMAT,
    formatVersion: RUN_FORMAT_VERSION,
    createdAt: new Date().toISOString(),
    appVersion: APP_VERSION,
    train: config,
    detector: detector.config,
    initialisation: detector.initialisation,
    parameters: detector.parameterCount(),
    backend,
    versions: runVersions(backend),
    dataset: datasetSummary(data),
    lossKeys: lossKeysOf(detector),
    classPriors: data.classPriors,
    stepsPerEpoch,
    studyFrom: DEFAULT_STUDY_FROM,
    studyFromReason: STUDY_FROM_REASON,
    studyHeadReason: STUDY_HEAD_REASON
  }
}
