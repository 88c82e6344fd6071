// The trainer's checkpoints: the averaged model, the optimizer state, the raw training weights beside
// them, and the trainer state a resumed run continues from (see runs/checkpoint.ts for the folder).
import { STUDY_CLASSES } from '../../../common/domain'
import { PREPROCESSING } from '../data/tensor-cache'
import type { Detector } from '../detect/detector'
import { newerBestInLast, saveCheckpoint, type CheckpointMeta, type CheckpointName } from '../runs/checkpoint'
import type { RunLog } from '../runs/run-folder'
import type { TrainerState } from './run-record'
import type { TrainingModel } from './training-model'
import { APP_VERSION } from './versions'

/** checkpoint.json: the trainer's position (with the training time so far) and what prediction needs. */
export function checkpointMeta(
  detector: Detector,
  state: TrainerState,
  elapsedMs: number
): CheckpointMeta<TrainerState> {
  return {
    format: 'cxr-studio-checkpoint',
    formatVersion: 1,
    appVersion: APP_VERSION,
    savedAt: new Date().toISOString(),
    epoch: state.epoch,
    stepInEpoch: state.stepInEpoch,
    globalStep: state.globalStep,
    classes: detector.config.classes,
    studyClasses: [...STUDY_CLASSES],
    inputSize: detector.config.imageSize,
    head: detector.config.head,
    backbone: detector.config.backbone,
    preprocessing: { ...PREPROCESSING, mean: detector.config.inputMean, std: detector.config.inputStd },
    trainer: { ...state, elapsedMs }
  }
}

/** Writes checkpoints/`name` of the run; `elapsedMs` is the training time over all sessions. */
export function saveTrainingCheckpoint(
  runDir: string,
  name: CheckpointName,
  model: TrainingModel,
  state: TrainerState,
  elapsedMs: number
): Promise<string> {
  return model.withAverage((training) =>
    saveCheckpoint(runDir, name, {
      detector: model.detector,
      optimizer: model.optimizer.getState(),
      meta: checkpointMeta(model.detector, state, elapsedMs),
      trainingWeights: training
    })
  )
}

/**
 * On resume, with the model and state loaded from checkpoints/last: when the last session stopped
 * between saving last and best, last holds the best epoch's weights and best an older epoch (or
 * nothing), so best is saved again from what was loaded. Without this, predict would fall back on
 * last only until the resumed run moves last on, and then use the older best.
 */
export async function restoreBest(
  runDir: string,
  model: TrainingModel,
  state: TrainerState,
  log: RunLog
): Promise<void> {
  const newer = await newerBestInLast(runDir)
  if (!newer || newer.epoch !== state.best?.epoch) return
  await saveTrainingCheckpoint(runDir, 'best', model, state, state.elapsedMs)
  const held = newer.bestHeld === null ? 'nothing' : `epoch ${newer.bestHeld}`
  log.write(
    `checkpoints/best held ${held} but the best is epoch ${newer.epoch} (the run stopped between saving last and best): saved again from checkpoints/last`
  )
}
