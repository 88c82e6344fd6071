// The trainer's checkpoints: the averaged model, the optimizer state, the raw training weights beside
// them, and the trainer state a resumed run continues from (see runs/checkpoint.ts for the folder).
import { STUDY_CLASSES } from '../../../common/domain'
import { PREPROCESSING } from '../data/tensor-cache'
import type { Detector } from '../detect/detector'
import { saveCheckpoint, type CheckpointMeta, type CheckpointName } from '../runs/checkpoint'
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
