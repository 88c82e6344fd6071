// What a user can set for a training run, as one zod schema: the CLI's `train` options, the Train
// view's form and the train worker's arguments are all this object. Plain zod and strings, so the
// renderer validates a form with exactly the rules the back end applies.
import { z } from 'zod'
import { FILTER_POLICIES } from './dataset'

export const BACKEND_CHOICES = ['auto', 'tensorflow', 'wasm', 'cpu'] as const
export type BackendChoice = (typeof BACKEND_CHOICES)[number]

/** Inference runtimes: auto prefers ONNX Runtime and falls back to tfjs (see main/ml/onnx/runtime.ts). */
export const RUNTIME_CHOICES = ['auto', 'onnx', 'tfjs'] as const
export type RuntimeChoice = (typeof RUNTIME_CHOICES)[number]

export const BACKBONE_NAMES = [
  'efficientnet-b0',
  'efficientnet-b1',
  'efficientnet-b2',
  'efficientnet-b3',
  'mobilenetv2',
  'resnet18',
  'resnet34'
] as const
export type BackboneName = (typeof BACKBONE_NAMES)[number]

export const HEAD_NAMES = ['efficientdet', 'fcos'] as const
export type HeadName = (typeof HEAD_NAMES)[number]

/**
 * The study/none head: `global` is a Dense on the globally pooled backbone features; `spatial`
 * also reads the stride-16 neck level with coordinate channels (x, y, |x|) through attention and max
 * pooling, so it can tell central from peripheral and one opacity from several (main/ml/detect).
 */
export const STUDY_HEAD_NAMES = ['global', 'spatial'] as const
export type StudyHeadName = (typeof STUDY_HEAD_NAMES)[number]

export const PRESET_NAMES = ['tiny', 'standard'] as const
export type PresetName = (typeof PRESET_NAMES)[number]

export const OPTIMIZER_NAMES = ['adamw', 'adam', 'sgd'] as const

/**
 * How the best epoch is chosen: `smoothed` (the mean of the validation score over the epoch and the
 * two before it, ties to the lower validation loss), `final` (the epoch's own score) or `loss` (the
 * lowest validation loss). A score on a handful of validation studies jumps by 0.2 from one epoch to
 * the next; the mean of three is a plateau, not a lucky spike.
 */
export const BEST_BY_CHOICES = ['smoothed', 'final', 'loss'] as const
export type BestBy = (typeof BEST_BY_CHOICES)[number]

/** Folds of `cxr-studio train --folds K`. */
export const MAX_FOLDS = 20
export type OptimizerName = (typeof OPTIMIZER_NAMES)[number]

/** Fine-tuning strategies, as Lightning Flash names them: which backbone stages train in which epoch. */
export type Strategy =
  | { kind: 'no_freeze' }
  | { kind: 'freeze' }
  /** Backbone frozen for epochs [0, epoch), trained from 0-based epoch `epoch` on (Flash's default 10). */
  | { kind: 'freeze_unfreeze'; epoch: number }
  /** Frozen until e1; from e1 the last `stages` backbone stages train; from e2 all of them. */
  | { kind: 'unfreeze_milestones'; milestones: [number, number]; stages: number }

export const STRATEGY_HELP =
  'no_freeze | freeze | freeze_unfreeze:E (backbone frozen for the first E epochs; Flash default E=10) | ' +
  'unfreeze_milestones:E1,E2:N (frozen until E1, then the last N backbone stages, all from E2); ' +
  "Flash's spellings freeze_unfreeze(10) and unfreeze_milestones((5,10),2) work too"

/** A strategy text that does not parse; the message says why and what is expected. */
export class StrategyError extends Error {
  override name = 'StrategyError'
}

/** Parses `freeze_unfreeze:10`, `freeze_unfreeze(10)`, `unfreeze_milestones:5,10:2`, `unfreeze_milestones((5,10),2)`. */
export function parseStrategy(text: string): Strategy {
  const spec = text.trim().replace(/\s+/g, '')
  const bad = (why: string) => new StrategyError(`--strategy ${text}: ${why}; expected ${STRATEGY_HELP}`)
  const int = (s: string | undefined, what: string) => {
    if (s === undefined || !/^\d+$/.test(s)) throw bad(`${what} must be a whole number`)
    return Number(s)
  }
  if (spec === 'no_freeze' || spec === 'freeze') return { kind: spec }
  let m = /^freeze_unfreeze(?::(\d*)|\((\d*)\))?$/.exec(spec)
  if (m)
    return {
      kind: 'freeze_unfreeze',
      epoch: m[1] === undefined && m[2] === undefined ? 10 : int(m[1] ?? m[2], 'the unfreeze epoch')
    }
  m = /^unfreeze_milestones(?::(\d+),(\d+):(\d+)|\(\((\d+),(\d+)\),(\d+)\))$/.exec(spec)
  if (m) {
    const e1 = int(m[1] ?? m[4], 'E1')
    const e2 = int(m[2] ?? m[5], 'E2')
    const stages = int(m[3] ?? m[6], 'N')
    if (e2 < e1) throw bad('E2 must not come before E1')
    if (stages < 1) throw bad('N must be at least 1')
    return { kind: 'unfreeze_milestones', milestones: [e1, e2], stages }
  }
  throw bad('unknown strategy')
}

export function formatStrategy(strategy: Strategy): string {
  switch (strategy.kind) {
    case 'no_freeze':
    case 'freeze':
      return strategy.kind
    case 'freeze_unfreeze':
      return `freeze_unfreeze:${strategy.epoch}`
    case 'unfreeze_milestones':
      return `unfreeze_milestones:${strategy.milestones[0]},${strategy.milestones[1]}:${strategy.stages}`
  }
}

const strategyText = z.string().superRefine((text, ctx) => {
  try {
    parseStrategy(text)
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message })
  }
})

/** What a run is trained with; every field optional (the defaults and their reasons: ml/train/config.ts). */
export const TrainSettings = z.strictObject({
  preset: z.enum(PRESET_NAMES).optional(),
  head: z.enum(HEAD_NAMES).optional(),
  /** The study/none head (see STUDY_HEAD_NAMES); default: main/ml/detect/config.ts DEFAULT_STUDY_HEAD. */
  studyHead: z.enum(STUDY_HEAD_NAMES).optional(),
  backbone: z.enum(BACKBONE_NAMES).optional(),
  imageSize: z.number().int().min(32).max(4096).optional(),
  widthMultiplier: z.number().positive().max(4).optional(),
  depthMultiplier: z.number().positive().max(4).optional(),
  /** Batch-norm running-statistics decay (Keras convention: running = m * running + (1 - m) * batch). */
  batchNormMomentum: z.number().min(0).max(1).optional(),
  epochs: z.number().int().positive().optional(),
  batchSize: z.number().int().positive().max(1024).optional(),
  /** Images per forward/backward pass; a larger batch accumulates gradients. Default: what fits the backend. */
  microBatch: z.number().int().positive().optional(),
  /** Threads that compute gradients (data parallel within one step); default 1 (see ml/train/step.ts). */
  threads: z.number().int().min(1).max(2).optional(),
  lr: z.number().positive().max(10).optional(),
  optimizer: z.enum(OPTIMIZER_NAMES).optional(),
  weightDecay: z.number().min(0).optional(),
  warmupEpochs: z.number().min(0).optional(),
  minLrRatio: z.number().min(0).max(1).optional(),
  gradClip: z.number().min(0).optional(),
  strategy: strategyText.optional(),
  valFraction: z.number().min(0).lt(1).optional(),
  /** At least this many validation studies per study class (at most a quarter of the class); 0: the fraction alone. */
  valMinPerClass: z.number().int().min(0).optional(),
  /** Stratified k-fold by study: K folds (with `fold`, this run validates on fold `fold`, 0-based). */
  folds: z.number().int().min(2).max(MAX_FOLDS).optional(),
  fold: z
    .number()
    .int()
    .min(0)
    .max(MAX_FOLDS - 1)
    .optional(),
  bestBy: z.enum(BEST_BY_CHOICES).optional(),
  seed: z.number().int().optional(),
  backend: z.enum(BACKEND_CHOICES).optional(),
  timeLimitMinutes: z.number().positive().optional(),
  /** Epochs without improvement of the validation score before stopping; 0 never stops early. */
  patience: z.number().int().min(0).optional(),
  policy: z.enum(FILTER_POLICIES).optional(),
  /** A TF.js Layers model.json whose backbone weights are imported by layer name. */
  pretrained: z.string().min(1).optional(),
  augment: z.boolean().optional(),
  /** Keep an exponential moving average of the weights for validation, checkpoints and prediction. */
  ema: z.boolean().optional()
})
export type TrainSettings = z.infer<typeof TrainSettings>

/** Every argument of `cxr-studio train` (and of the train worker): the settings plus where to read and write. */
export const TrainArgsSchema = TrainSettings.extend({
  dataset: z.string().min(1),
  out: z.string().min(1),
  workspace: z.string().min(1),
  resume: z.boolean().optional()
})
export type TrainArgs = z.infer<typeof TrainArgsSchema>

/** Starting points offered by the Train view; anything left out takes the CLI's default. */
export interface TrainingPreset {
  id: string
  title: string
  description: string
  settings: TrainSettings
}

export const TRAINING_PRESETS: readonly TrainingPreset[] = [
  {
    id: 'quick-look',
    title: 'Quick look (CPU, 15 minutes)',
    description:
      'The tiny EfficientDet (~1M parameters) at 256 px from random weights, trained until a 15-minute clock runs out: a first model on a laptop CPU.',
    settings: { preset: 'tiny', head: 'efficientdet', imageSize: 256, timeLimitMinutes: 15 }
  },
  {
    id: 'seed-recipe',
    title: 'Seed recipe (EfficientDet, freeze_unfreeze:10)',
    description:
      "The seed notebook's fine-tuning: EfficientDet on a pretrained backbone, frozen for 10 epochs then trained whole, AdamW at 1e-4, 30 epochs. Give the pretrained backbone's model.json.",
    settings: {
      preset: 'standard',
      head: 'efficientdet',
      backbone: 'efficientnet-b0',
      imageSize: 512,
      strategy: 'freeze_unfreeze:10',
      optimizer: 'adamw',
      lr: 1e-4,
      epochs: 30
    }
  }
]
