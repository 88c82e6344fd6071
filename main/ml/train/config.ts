// Training arguments (what a user gives on the command line or in the training form) and their
// resolution into one complete, recorded configuration. Defaults depend on the initialisation: the
// seed notebook's lr of 1e-5 suits a pretrained EfficientDet-D5, not a randomly initialised network.
import type { FILTER_POLICIES } from '../../../common/dataset'
import { availableParallelism } from 'node:os'
import { UserError } from '../../core/errors'
import {
  TrainArgsSchema,
  type BACKBONE_NAMES,
  type BACKEND_CHOICES,
  type BestBy,
  type HEAD_NAMES,
  type PRESET_NAMES,
  type STUDY_HEAD_NAMES,
  type TrainArgs
} from '../../../common/training'
import { DEFAULT_AUGMENT, type AugmentConfig } from '../data/augment'
import { OPTIMIZER_DEFAULTS, type OptimizerOptions } from './optimizer-options'
import { formatStrategy, parseStrategy, type Strategy } from './strategy'

export { TrainArgsSchema, type TrainArgs } from '../../../common/training'

/** The complete configuration a run records and follows. */
export interface TrainConfig {
  dataset: string
  out: string
  workspace: string
  detector: {
    preset?: (typeof PRESET_NAMES)[number]
    head?: (typeof HEAD_NAMES)[number]
    studyHead?: (typeof STUDY_HEAD_NAMES)[number]
    backbone?: (typeof BACKBONE_NAMES)[number]
    imageSize: number
    widthMultiplier?: number
    depthMultiplier?: number
    batchNormMomentum: number
    seed: number
  }
  epochs: number
  batchSize: number
  /** null: chosen from the backend and image size (see defaultMicroBatch). */
  microBatch: number | null
  /** null: chosen from the backend and the cores (see defaultThreads: 2 on WASM with two cores). */
  threads: number | null
  lr: number
  optimizer: OptimizerOptions
  warmupEpochs: number
  minLrRatio: number
  gradClip: number
  strategy: Strategy
  valFraction: number
  /** Validation studies per study class at least (see core/export/split.ts valCount); absent in older runs. */
  valMinPerClass?: number
  /** A fold run: K folds and the one it validates on (null: a fraction split); absent in older runs. */
  folds?: number | null
  fold?: number | null
  /** How the best epoch is chosen (see early-stop.ts); absent in older runs: `final`. */
  bestBy?: BestBy
  seed: number
  backend: (typeof BACKEND_CHOICES)[number]
  timeLimitMinutes: number | null
  patience: number
  policy: (typeof FILTER_POLICIES)[number]
  pretrained: string | null
  augment: AugmentConfig | null
  /** Weight averaging (see ema.ts), or null. */
  ema: { maxDecay: number } | null
  /** Which values were defaulted, and why. */
  defaults: Record<string, string>
}

/**
 * Defaults:
 * - random initialisation: AdamW lr 1e-2 (a ~1M-parameter detector from scratch gets a few hundred
 *   steps in a CPU budget; at 1e-3 its box head had not started to learn after 100 steps on the demo),
 *   weight decay 0.01, batch-norm momentum 0.9 (running statistics must keep up with fast-moving
 *   weights, else validation in inference mode is wrong; PyTorch's default), and `no_freeze`, since a
 *   random backbone has nothing worth keeping frozen;
 * - pretrained backbone: AdamW lr 1e-4 (fine-tuning must not wash out the imported features),
 *   batch-norm momentum 0.99, and `freeze_unfreeze:10` as Flash does.
 * Both: 1 warm-up epoch then cosine decay to 1% (by the clock under --time-limit), 30 epochs (with
 * --time-limit: as many as fit, see EPOCHS_UNTIL_TIME_LIMIT), batch
 * 8, 256 px (the `tiny` preset: ~1M parameters, trains on a 2-core CPU with WASM), grad-norm clip 10,
 * 10% validation raised to 4 studies per class (DEFAULT_VAL_MIN_PER_CLASS; a quarter of a class under 16), best
 * epoch by the smoothed score (common/best-epoch.ts), seed 42, augmentation and a weight average (EMA) on, keep-boxed policy, and no early stopping (patience 0):
 * a 10% split of a small dataset is too noisy to stop on; set --patience on large datasets.
 */
export function resolveTrainConfig(input: TrainArgs): TrainConfig {
  const parsed = TrainArgsSchema.safeParse(input)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new UserError(`invalid training argument ${issue.path.join('.') || ''}: ${issue.message}`)
  }
  const args = parsed.data
  checkFolds(args.folds, args.fold)
  const defaults: Record<string, string> = {}
  const pick = <T>(name: string, given: T | undefined, value: T, why: string): T => {
    if (given !== undefined) return given
    defaults[name] = `${JSON.stringify(value)} (${why})`
    return value
  }
  const pretrained = Boolean(args.pretrained)
  const init = pretrained ? 'pretrained backbone' : 'random initialisation'
  const optimizerName = pick(
    'optimizer',
    args.optimizer,
    'adamw',
    'decoupled weight decay suits both initialisations'
  )
  const optimizer: OptimizerOptions = {
    ...OPTIMIZER_DEFAULTS[optimizerName],
    weightDecay: pick(
      'weightDecay',
      args.weightDecay,
      OPTIMIZER_DEFAULTS[optimizerName].weightDecay,
      `${optimizerName} default`
    )
  }
  const defaultLr = optimizerName === 'sgd' ? (pretrained ? 1e-3 : 5e-2) : pretrained ? 1e-4 : 1e-2
  const strategyText = pick('strategy', args.strategy, pretrained ? 'freeze_unfreeze:10' : 'no_freeze', init)
  const seed = pick('seed', args.seed, 42, 'fixed for reproducibility')
  // chosen when the backend is known (step.ts defaultThreads); the hint says what WASM gets here
  if (args.threads === undefined) {
    const cores = availableParallelism()
    defaults.threads =
      cores >= 2
        ? '2 (two cores share each batch on WASM, batch norm over the whole batch; 1 with native TensorFlow)'
        : '1 (one core)'
  }
  return {
    dataset: args.dataset,
    out: args.out,
    workspace: args.workspace,
    detector: {
      preset: args.preset,
      head: args.head,
      studyHead: args.studyHead,
      backbone: args.backbone,
      imageSize: pick('imageSize', args.imageSize, 256, 'the tiny preset trains at usable speed on a CPU'),
      widthMultiplier: args.widthMultiplier,
      depthMultiplier: args.depthMultiplier,
      batchNormMomentum: pick('batchNormMomentum', args.batchNormMomentum, pretrained ? 0.99 : 0.9, init),
      seed
    },
    epochs:
      args.timeLimitMinutes !== undefined
        ? pick(
            'epochs',
            args.epochs,
            EPOCHS_UNTIL_TIME_LIMIT,
            'until the time limit: the cosine decay follows the clock'
          )
        : pick('epochs', args.epochs, 30, 'default'),
    batchSize: pick('batchSize', args.batchSize, 8, 'default'),
    microBatch: args.microBatch ?? null,
    threads: args.threads ?? null,
    lr: pick('lr', args.lr, defaultLr, `${init} with ${optimizerName}`),
    optimizer,
    warmupEpochs: pick(
      'warmupEpochs',
      args.warmupEpochs,
      1,
      'steadies the first steps of adaptive optimizers'
    ),
    minLrRatio: pick('minLrRatio', args.minLrRatio, 0.01, 'cosine decay to 1% of the peak'),
    gradClip: pick('gradClip', args.gradClip, 10, 'global-norm clipping guards against early loss spikes'),
    strategy: parseStrategy(strategyText),
    valFraction: pick('valFraction', args.valFraction, 0.1, 'default'),
    valMinPerClass: pick(
      'valMinPerClass',
      args.valMinPerClass,
      DEFAULT_VAL_MIN_PER_CLASS,
      'a 10% split of a small dataset holds one study per class: too few to tell models apart'
    ),
    folds: args.folds ?? null,
    fold: args.fold ?? null,
    bestBy: pick(
      'bestBy',
      args.bestBy,
      'smoothed',
      'the mean score of the last 3 epochs: a small validation split makes single epochs jump'
    ),
    seed,
    backend: pick('backend', args.backend, 'auto', 'fastest available'),
    timeLimitMinutes: args.timeLimitMinutes ?? null,
    patience: pick('patience', args.patience, 0, 'a small validation split is too noisy to stop on'),
    policy: pick('policy', args.policy, 'keep-boxed', "the organisers' duplicate rule"),
    pretrained: args.pretrained ?? null,
    augment: args.augment === false ? null : DEFAULT_AUGMENT,
    ema: args.ema === false ? null : { maxDecay: 0.999 },
    defaults
  }
}

/** The k-fold position of a fold run, or null. */
export function foldOf(config: TrainConfig): { count: number; index: number } | null {
  return config.folds && config.fold !== null && config.fold !== undefined
    ? { count: config.folds, index: config.fold }
    : null
}

/** A fold run names both the number of folds and its fold. */
function checkFolds(folds: number | undefined, fold: number | undefined): void {
  if (folds === undefined && fold !== undefined)
    throw new UserError(`invalid training argument fold: --fold ${fold} needs --folds K`)
  if (folds !== undefined && fold === undefined)
    throw new UserError(
      `invalid training argument fold: a run trains one fold; give --fold 0..${folds - 1} (the CLI's --folds ${folds} without --fold trains them all one after another)`
    )
  if (folds !== undefined && fold !== undefined && fold >= folds)
    throw new UserError(`invalid training argument fold: --fold ${fold} is not in 0..${folds - 1}`)
}

/** Validation studies per study class at least, by default (fewer when the class has under 8). */
export const DEFAULT_VAL_MIN_PER_CLASS = 4

/**
 * The epoch cap of a run given --time-limit without --epochs: it trains until the clock runs out,
 * its cosine decay following the clock, so a budget of minutes is used whole.
 */
export const EPOCHS_UNTIL_TIME_LIMIT = 10_000

/** Arguments that may change when a run is resumed; any other one must match the run's config. */
export const RESUMABLE_ARGS = [
  'epochs',
  'timeLimitMinutes',
  'patience',
  'backend',
  'microBatch',
  'threads',
  'workspace',
  'dataset',
  'resume',
  'out'
] as const

/** Applies the few allowed overrides of a resumed run; refuses to silently change anything else. */
export function resumeConfig(saved: TrainConfig, args: TrainArgs): TrainConfig {
  const fresh = resolveTrainConfig({ ...args, resume: undefined })
  const given = Object.entries(args).filter(
    ([k, v]) => v !== undefined && !(RESUMABLE_ARGS as readonly string[]).includes(k)
  )
  for (const [key] of given) {
    const before = JSON.stringify(comparable(saved, key))
    const after = JSON.stringify(comparable(fresh, key))
    if (before !== after)
      throw new UserError(
        `--${kebab(key)} cannot change when resuming: the run was started with ${before}, got ${after}`
      )
  }
  if (
    saved.epochs === EPOCHS_UNTIL_TIME_LIMIT &&
    args.epochs === undefined &&
    args.timeLimitMinutes === undefined
  ) {
    throw new UserError(
      'this run trains until a time limit: give --time-limit MINUTES (or --epochs N) to resume it'
    )
  }
  return {
    ...saved,
    dataset: args.dataset,
    workspace: args.workspace,
    epochs: args.epochs ?? saved.epochs,
    timeLimitMinutes: args.timeLimitMinutes ?? null,
    patience: args.patience ?? saved.patience,
    backend: args.backend ?? saved.backend,
    microBatch: args.microBatch ?? saved.microBatch,
    threads: args.threads ?? saved.threads ?? null
  }
}

function comparable(config: TrainConfig, key: string): unknown {
  switch (key) {
    case 'strategy':
      return formatStrategy(config.strategy)
    case 'optimizer':
      return config.optimizer.name
    case 'weightDecay':
      return config.optimizer.weightDecay
    case 'augment':
      return config.augment !== null
    case 'ema':
      return config.ema !== null
    case 'preset':
    case 'head':
    case 'studyHead':
    case 'backbone':
    case 'imageSize':
    case 'widthMultiplier':
    case 'depthMultiplier':
    case 'batchNormMomentum':
      return config.detector[key]
    default:
      return (config as unknown as Record<string, unknown>)[key]
  }
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)
}
