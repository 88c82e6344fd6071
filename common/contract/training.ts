// Wire schemas of training: the events a training job sends (start, step, epoch, samples, log), its
// result, and the run folders the Runs view lists. The engine (main/ml) uses the inferred types, so a
// field added here is added everywhere at once.
import { z } from 'zod'
import { SCORED_CLASSES, STUDY_CLASSES } from '../domain'
import { BEST_BY_CHOICES } from '../training'
import { OpacityBox } from './schemas'

/** A measured number; NaN and infinities pass (a diverging loss is a fact to show, not a schema error). */
const Scalar = z.custom<number>((value) => typeof value === 'number', 'expected a number')

/** Loss parts keyed by name (`total` first, then the detector's parts: cls, box, study, none, ...). */
export const LossParts = z.record(z.string(), Scalar)

export const BackendFallback = z.object({
  /** '@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node', 'wasm' or 'cpu'. */
  backend: z.string(),
  reason: z.string()
})

export const BackendInfo = z.object({
  name: z.enum(['tensorflow', 'wasm', 'cpu']),
  /** 'GPU (CUDA)' plus the card's name when known, else 'CPU'. */
  device: z.string(),
  tfjsVersion: z.string(),
  /** Version of the backend package (tfjs-node also reports its libtensorflow). */
  backendVersion: z.string(),
  /** Compute threads one process uses (WASM under Node: always 1, tfjs issue #3830). */
  threads: z.number().int(),
  fallbacks: z.array(BackendFallback),
  /** The npm package that provides the backend. */
  package: z.string(),
  /** WASM only: whether the SIMD build runs, and which kernels CXR Studio added or replaced. */
  simd: z.boolean().optional(),
  kernels: z.array(z.object({ kernelName: z.string(), action: z.enum(['added', 'replaced']) })).optional()
})

/** A faster inference runtime or provider that was not used, and why. */
export const RuntimeFallback = z.object({
  /** 'onnxruntime', or 'onnxruntime cuda' / 'onnxruntime dml' / 'onnxruntime coreml'. */
  runtime: z.string(),
  reason: z.string()
})

/** What ran a prediction: ONNX Runtime (and its execution provider) or tfjs (and its backend). */
export const InferenceRuntimeInfo = z.object({
  name: z.enum(['onnxruntime', 'tfjs']),
  version: z.string(),
  /** 'CPU', 'CUDA', 'DML', 'COREML', or the tfjs backend's device. */
  device: z.string(),
  /** ONNX Runtime's execution provider ('cpu', 'cuda', ...) or the tfjs backend ('wasm', ...). */
  executionProvider: z.string(),
  threads: z.number().int(),
  fallbacks: z.array(RuntimeFallback)
})

/** What one epoch produced: a row of results.csv. */
export const EpochRecord = z.object({
  /** 1-based. */
  epoch: z.number().int(),
  /** Mean training losses over the epoch's steps. */
  train: LossParts,
  /** Mean validation losses, or null without a validation split. */
  val: LossParts.nullable(),
  /** The competition metric on the validation split (AP null: class absent from the split). */
  ap: z.record(z.enum(SCORED_CLASSES), Scalar.nullable()),
  studyMap: Scalar.nullable(),
  imageMap: Scalar.nullable(),
  final: Scalar.nullable(),
  /** The final score averaged over this and the scored epochs before it (common/best-epoch.ts); absent in older runs. */
  finalSmoothed: Scalar.nullable().optional(),
  /** Learning rate at the epoch's last step. */
  lr: Scalar,
  /** Wall-clock seconds of this epoch (training + validation). */
  seconds: Scalar,
  /** Training seconds since the run started, summed over resumed sessions. */
  elapsed: Scalar,
  /** Backbone stages that were frozen during the epoch. */
  frozen: z.array(z.string())
})

export const BestScore = z.object({
  epoch: z.number().int(),
  /** What was compared: the competition score on validation, or the validation loss without one. */
  metric: z.enum(['final', 'val/total']),
  value: Scalar,
  /** The epoch's validation loss: breaks ties of the score (absent in runs of older versions). */
  valLoss: Scalar.nullable().optional(),
  /** The rule that picked it (--best-by; absent in runs of older versions, which used `final`). */
  rule: z.enum(BEST_BY_CHOICES).optional(),
  /** Under `smoothed`: the compared mean of the final score, and the epochs it averages. */
  smoothed: Scalar.optional(),
  smoothedEpochs: z.array(z.number().int()).optional()
})

export const TRAIN_STATUSES = ['completed', 'cancelled', 'time-limit', 'early-stopped'] as const
export const TrainStatus = z.enum(TRAIN_STATUSES)

/** Sent once at the start, after the data are ready. */
export const TrainStartEvent = z.object({
  runDir: z.string(),
  backend: BackendInfo,
  resumed: z.boolean(),
  trainImages: z.number().int(),
  valImages: z.number().int(),
  stepsPerEpoch: z.number().int(),
  /** The epoch cap (a formality when the run trains until its time limit). */
  epochs: z.number().int(),
  timeLimitMinutes: z.number().nullable(),
  untilTimeLimit: z.boolean(),
  startEpoch: z.number().int(),
  parameters: z.object({ total: z.number().int(), trainable: z.number().int() })
})

/** After every optimizer step. */
export const StepEvent = z.object({
  /** 1-based epoch and step within it. */
  epoch: z.number().int(),
  epochs: z.number().int(),
  step: z.number().int(),
  stepsPerEpoch: z.number().int(),
  globalStep: z.number().int(),
  loss: LossParts,
  lr: Scalar,
  gradNorm: Scalar,
  imagesPerSecond: Scalar,
  /** Seconds until the run ends (the epochs, or the time limit if sooner). */
  etaSeconds: Scalar,
  elapsedSeconds: Scalar
})

/** After every epoch (training and validation). */
export const EpochEvent = EpochRecord.extend({
  epochs: z.number().int(),
  improved: z.boolean(),
  best: BestScore.nullable()
})

/** A predicted opacity box in original DICOM pixels (corner form). */
export const PredictedBox = z.object({
  x1: z.number(),
  y1: z.number(),
  x2: z.number(),
  y2: z.number(),
  confidence: z.number()
})

/** One validation image as the model saw it after an epoch: its truth beside the prediction. */
export const SampleImage = z.object({
  imageId: z.string(),
  studyId: z.string(),
  /** Path relative to the dataset root. */
  path: z.string(),
  /** Original DICOM size. */
  width: z.number().int(),
  height: z.number().int(),
  truthClass: z.enum(STUDY_CLASSES).nullable(),
  truthBoxes: z.array(OpacityBox),
  boxes: z.array(PredictedBox),
  /** Confidence that the image has no opacity. */
  none: z.number(),
  studyProbs: z.record(z.enum(STUDY_CLASSES), z.number())
})

/** After every validation: the same few validation images (a few per class), predicted. */
export const SamplesEvent = z.object({
  epoch: z.number().int(),
  /** The dataset the paths are relative to. */
  datasetRoot: z.string(),
  images: z.array(SampleImage)
})

/** A line written to train.log (with its ISO timestamp). */
export const LogEvent = z.object({ line: z.string() })

export const TrainResult = z.object({
  runDir: z.string(),
  status: TrainStatus,
  /** Epochs with a results.csv row. */
  epochsCompleted: z.number().int(),
  globalStep: z.number().int(),
  best: BestScore.nullable(),
  lastCheckpoint: z.string().nullable(),
  bestCheckpoint: z.string().nullable(),
  backend: BackendInfo,
  history: z.array(EpochRecord)
})

/** The events a training job emits, by name. */
export const trainingEvents = {
  start: TrainStartEvent,
  step: StepEvent,
  epoch: EpochEvent,
  samples: SamplesEvent,
  log: LogEvent
} as const
export type TrainingEventName = keyof typeof trainingEvents

/**
 * status.json of a run folder: what the run is doing now. Written when training starts, at every
 * epoch and when it ends; a `running` status whose process is gone means the run was interrupted.
 */
export const RUN_STATES = ['running', ...TRAIN_STATUSES, 'failed'] as const
export const RunStatusFile = z.object({
  state: z.enum(RUN_STATES),
  pid: z.number().int(),
  hostname: z.string(),
  startedAt: z.string(),
  updatedAt: z.string(),
  /** Epochs with a results.csv row. */
  epochs: z.number().int(),
  /** This session's epoch cap (null: until its time limit) and time limit; a resume may change both. */
  epochsPlanned: z.number().int().nullable().optional(),
  timeLimitMinutes: z.number().nullable().optional(),
  /** The best epoch so far, the rule that picked it and its raw and smoothed scores. */
  best: BestScore.nullable().optional(),
  error: z.string().nullable()
})

/**
 * What the Runs view shows of a run: its state as seen now (`queued`: waiting for another training of
 * this back end to end; `interrupted`: running, but its process is gone).
 */
export const RunState = z.enum(['queued', ...RUN_STATES, 'interrupted', 'unknown'])

export const RunSummary = z.object({
  runId: z.string(),
  path: z.string(),
  name: z.string(),
  state: RunState,
  /** The job of this back end that trains it now, if any. */
  jobId: z.string().nullable(),
  /** Listed because it is under the workspace's runs folder, or because the user opened it by path. */
  source: z.enum(['workspace', 'opened']),
  createdAt: z.string().nullable(),
  updatedAt: z.string().nullable(),
  dataset: z.object({ root: z.string(), name: z.string() }).nullable(),
  model: z
    .object({ head: z.string(), backbone: z.string(), imageSize: z.number(), parameters: z.number() })
    .nullable(),
  backend: z.string().nullable(),
  /** Epochs completed, and planned (null: until the time limit). */
  epochs: z.number().int(),
  epochsPlanned: z.number().int().nullable(),
  timeLimitMinutes: z.number().nullable(),
  best: BestScore.nullable(),
  /** A run of kind `imported` (an ONNX model trained elsewhere): its format and source file; no training. */
  imported: z
    .object({ format: z.string(), source: z.string(), sha256: z.string(), inputSize: z.number().int() })
    .nullable()
    .optional(),
  /** A run of kind `ensemble`: its members (weight, checkpoint) and the WBF parameters; no training of its own. */
  ensemble: z
    .object({
      members: z.array(
        z.object({
          name: z.string(),
          path: z.string(),
          weight: z.number(),
          checkpoint: z.enum(['best', 'last']).nullable(),
          /** The member's folder is gone: the ensemble cannot predict. */
          missing: z.boolean()
        })
      ),
      iouThreshold: z.number(),
      skipBoxThreshold: z.number()
    })
    .nullable()
    .optional(),
  /** A fold run of `cxr-studio train --folds K`: the fold it validates on (0-based) of K. */
  fold: z.object({ index: z.number().int(), count: z.number().int() }).nullable().optional(),
  /** Training seconds over all sessions. */
  durationSeconds: Scalar.nullable(),
  /** Why it failed, or why the folder cannot be read. */
  error: z.string().nullable()
})

/** Per-step scalars from the TensorBoard event file, thinned to at most a few thousand points. */
export const StepSeries = z.object({
  steps: z.array(z.number()),
  series: z.record(z.string(), z.array(Scalar.nullable()))
})

export const RunDetail = z.object({
  summary: RunSummary,
  /** config.json as written (every argument, defaults and why, backend, versions, dataset). */
  config: z.record(z.string(), z.unknown()).nullable(),
  /** results.csv, one record per epoch. */
  results: z.array(EpochRecord),
  steps: StepSeries,
  /** The last lines of train.log. */
  log: z.array(z.string()),
  /** The latest validation samples, when the run recorded them. */
  samples: SamplesEvent.nullable()
})

/** Key of a run folder: the first 16 hex chars of sha1(real path). */
export const RunId = z.string().regex(/^[0-9a-f]{16}$/, 'a run id is 16 hex characters')

/** A run folder's name under the workspace's runs/ folder. */
export const RunName = z
  .string()
  .min(1)
  .max(80)
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
    'letters, digits, dot, dash and underscore, starting with a letter or digit'
  )

export const TrainingStarted = z.object({ jobId: z.string(), runId: RunId, runDir: z.string() })

/** A problem of the form, next to the field it names (`settings` when it is about several). */
export const FieldError = z.object({ field: z.string(), message: z.string() })

export const TrainingCheck = z.object({
  errors: z.array(FieldError),
  /** The value each unset field would take, and why (as config.json records it). */
  defaults: z.record(z.string(), z.string()),
  /** Cores of this machine (threads: 2 needs two). */
  cores: z.number().int(),
  /** Training images and studies the dataset offers under the chosen policy (before the validation split). */
  trainImages: z.number().int(),
  valStudiesPerClass: z.record(z.string(), z.number().int())
})

/** The backend ladder as probed here: what `auto` picks and why the faster ones are not used. */
export const BackendProbe = z.object({
  auto: BackendInfo,
  /** Explicit choices: available, or why not. */
  choices: z.record(
    z.enum(['tensorflow', 'wasm', 'cpu']),
    z.object({ available: z.boolean(), reason: z.string() })
  )
})

export type RunId = z.infer<typeof RunId>
export type TrainingStarted = z.infer<typeof TrainingStarted>
export type FieldError = z.infer<typeof FieldError>
export type TrainingCheck = z.infer<typeof TrainingCheck>
export type BackendProbe = z.infer<typeof BackendProbe>
export type LossParts = z.infer<typeof LossParts>
export type BackendFallback = z.infer<typeof BackendFallback>
export type BackendInfo = z.infer<typeof BackendInfo>
export type RuntimeFallback = z.infer<typeof RuntimeFallback>
export type InferenceRuntimeInfo = z.infer<typeof InferenceRuntimeInfo>
export type EpochRecord = z.infer<typeof EpochRecord>
export type BestScore = z.infer<typeof BestScore>
export type TrainStatus = z.infer<typeof TrainStatus>
export type TrainStartEvent = z.infer<typeof TrainStartEvent>
export type StepEvent = z.infer<typeof StepEvent>
export type EpochEvent = z.infer<typeof EpochEvent>
export type PredictedBox = z.infer<typeof PredictedBox>
export type SampleImage = z.infer<typeof SampleImage>
export type SamplesEvent = z.infer<typeof SamplesEvent>
export type LogEvent = z.infer<typeof LogEvent>
export type TrainResult = z.infer<typeof TrainResult>
export type RunStatusFile = z.infer<typeof RunStatusFile>
export type RunState = z.infer<typeof RunState>
export type RunSummary = z.infer<typeof RunSummary>
export type StepSeries = z.infer<typeof StepSeries>
export type RunDetail = z.infer<typeof RunDetail>
