import { Option, type Command } from 'commander'
import { resolve } from 'node:path'
import { FILTER_POLICIES } from '../../../common/dataset'
import { describeBestRule } from '../../../common/best-epoch'
import type { EpochEvent, TrainResult, TrainStartEvent } from '../../../common/contract'
import {
  BACKBONE_NAMES,
  BACKEND_CHOICES,
  BEST_BY_CHOICES,
  MAX_FOLDS,
  HEAD_NAMES,
  OPTIMIZER_NAMES,
  PRESET_NAMES,
  STRATEGY_HELP,
  STUDY_HEAD_NAMES,
  type TrainArgs
} from '../../../common/training'
import { DEFAULT_STUDY_HEAD } from '../../ml/detect/config'
import { trainAllFolds } from '../../backend/training/folds'
import { trainingJob } from '../../backend/training/service'
import { foldsTable } from '../../ml/runs/folds'
import { printJson, workspaceOf } from '../context'
import { runCliJob } from '../jobs'
import {
  fraction,
  integer,
  nonNegativeInteger,
  nonNegativeNumber,
  positiveInteger,
  positiveNumber
} from '../parsers'

interface TrainCliOptions {
  out: string
  preset?: TrainArgs['preset']
  head?: TrainArgs['head']
  studyHead?: TrainArgs['studyHead']
  backbone?: TrainArgs['backbone']
  imageSize?: number
  widthMultiplier?: number
  depthMultiplier?: number
  bnMomentum?: number
  epochs?: number
  batchSize?: number
  microBatch?: number
  threads?: number
  lr?: number
  optimizer?: TrainArgs['optimizer']
  weightDecay?: number
  warmupEpochs?: number
  gradClip?: number
  strategy?: string
  valFraction?: number
  valMinPerClass?: number
  folds?: number
  fold?: number
  bestBy?: TrainArgs['bestBy']
  seed?: number
  backend?: TrainArgs['backend']
  timeLimit?: number
  patience?: number
  policy?: TrainArgs['policy']
  pretrained?: string
  augment: boolean
  ema: boolean
  resume?: boolean
  json?: boolean
}

const f4 = (v: number | null | undefined) =>
  v === null || v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(4)

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description(
      'fine-tune a detector (backbone + head + study head) on a Kaggle-layout folder; writes a run folder with config.json, ' +
        'results.csv, TensorBoard events, checkpoints/last and checkpoints/best, train.log'
    )
    .argument('<dir>', 'Kaggle dataset folder (train/ + train_study_level.csv + train_image_level.csv)')
    .requiredOption('--out <run>', 'run folder to create (empty or absent), or to continue with --resume')
    .addOption(
      new Option('--preset <name>', 'model size preset (default tiny: ~1M parameters, CPU-friendly)').choices(
        PRESET_NAMES
      )
    )
    .addOption(new Option('--head <name>', 'detection head (default efficientdet)').choices(HEAD_NAMES))
    .addOption(
      new Option(
        '--study-head <name>',
        `study/none head: global (Dense on globally pooled features) or spatial (attention over the stride-16 level with position channels) (default ${DEFAULT_STUDY_HEAD})`
      ).choices(STUDY_HEAD_NAMES)
    )
    .addOption(
      new Option('--backbone <name>', 'backbone (default efficientnet-b0 scaled by the preset)').choices(
        BACKBONE_NAMES
      )
    )
    .option(
      '--image-size <px>',
      'square model input side (default 256; efficientdet needs a multiple of 128)',
      positiveInteger
    )
    .option('--width-multiplier <x>', 'scale every layer width of the backbone', positiveNumber)
    .option('--depth-multiplier <x>', 'scale the number of backbone blocks', positiveNumber)
    .option(
      '--bn-momentum <m>',
      'batch-norm running-statistics decay (default 0.9 random init, 0.99 pretrained)',
      fraction
    )
    .option('--epochs <n>', 'epochs (default 30; with --time-limit: until the time limit)', positiveInteger)
    .option('--batch-size <n>', 'images per optimizer step (default 8)', positiveInteger)
    .option(
      '--micro-batch <n>',
      'images per forward/backward pass; larger batches accumulate gradients (default: what fits the WASM heap, 8 at 256 px, 2 at 512 px)',
      positiveInteger
    )
    .option(
      '--threads <n>',
      'threads computing gradients, 1 or 2 (default 2 on WASM with two cores): 2 splits each batch over two cores with batch norm over the whole batch, the same step as one thread, faster',
      positiveInteger
    )
    .option(
      '--lr <x>',
      'peak learning rate (default by initialisation: 1e-2 random, 1e-4 pretrained; SGD 5e-2 / 1e-3)',
      positiveNumber
    )
    .addOption(new Option('--optimizer <name>', 'optimizer (default adamw)').choices(OPTIMIZER_NAMES))
    .option(
      '--weight-decay <x>',
      'weight decay on conv/dense kernels (default 0.01 AdamW, 0 Adam, 1e-4 SGD)',
      nonNegativeNumber
    )
    .option('--warmup-epochs <x>', 'linear warm-up before the cosine decay (default 1)', nonNegativeNumber)
    .option(
      '--grad-clip <x>',
      'clip gradients to this global L2 norm, 0 = off (default 10)',
      nonNegativeNumber
    )
    .option(
      '--strategy <s>',
      `fine-tuning strategy (default no_freeze from random init, freeze_unfreeze:10 with --pretrained): ${STRATEGY_HELP}`
    )
    .option(
      '--val-fraction <f>',
      'fraction of studies per class held out for validation (default 0.1)',
      fraction
    )
    .option(
      '--val-min-per-class <n>',
      'at least this many validation studies per study class, at most half of the class (default 4; 0: the fraction alone)',
      nonNegativeInteger
    )
    .option(
      '--folds <k>',
      `stratified k-fold by study (2-${MAX_FOLDS}): with --fold i, train on the other folds and validate on fold i; without --fold, train the K folds one after another into <out>/fold-<i>/ and write <out>/folds.json`,
      positiveInteger
    )
    .option('--fold <i>', 'the fold (0-based) this run validates on; needs --folds', nonNegativeInteger)
    .addOption(
      new Option(
        '--best-by <rule>',
        'which epoch is checkpoints/best: smoothed (default: the mean validation score of the epoch and the 2 before it), final (its own score) or loss (lowest validation loss); ties go to the lower validation loss'
      ).choices(BEST_BY_CHOICES)
    )
    .option('--seed <n>', 'seed of the split, initialisation, order and augmentation (default 42)', integer)
    .addOption(
      new Option('--backend <name>', 'tfjs backend (default auto: tensorflow, else wasm, else cpu)').choices(
        BACKEND_CHOICES
      )
    )
    .option(
      '--time-limit <minutes>',
      'stop cleanly (checkpoint written) after this many minutes',
      positiveNumber
    )
    .option(
      '--patience <epochs>',
      'stop after this many epochs without a better validation score (default 0: never)',
      nonNegativeInteger
    )
    .addOption(
      new Option(
        '--policy <policy>',
        'which images of multi-image studies to train on (default keep-boxed)'
      ).choices(FILTER_POLICIES)
    )
    .option(
      '--pretrained <model.json>',
      'import backbone weights from a local TF.js Layers model (by layer name)'
    )
    .option('--no-augment', 'train without flips, scale/translate and brightness/contrast/gamma')
    .option(
      '--no-ema',
      'validate, checkpoint and predict with the last weights instead of their moving average'
    )
    .option(
      '--resume',
      'continue the run in --out from checkpoints/last (same step, optimizer state and schedule)'
    )
    .option('--json', 'print the result as JSON on stdout')
    .action(async (dir: string, options: TrainCliOptions, cmd: Command) => {
      const args: TrainArgs = {
        dataset: resolve(dir),
        out: resolve(options.out),
        workspace: workspaceOf(cmd),
        preset: options.preset,
        head: options.head,
        studyHead: options.studyHead,
        backbone: options.backbone,
        imageSize: options.imageSize,
        widthMultiplier: options.widthMultiplier,
        depthMultiplier: options.depthMultiplier,
        batchNormMomentum: options.bnMomentum,
        epochs: options.epochs,
        batchSize: options.batchSize,
        microBatch: options.microBatch,
        threads: options.threads,
        lr: options.lr,
        optimizer: options.optimizer,
        weightDecay: options.weightDecay,
        warmupEpochs: options.warmupEpochs,
        gradClip: options.gradClip,
        strategy: options.strategy,
        valFraction: options.valFraction,
        valMinPerClass: options.valMinPerClass,
        folds: options.folds,
        fold: options.fold,
        bestBy: options.bestBy,
        seed: options.seed,
        backend: options.backend,
        timeLimitMinutes: options.timeLimit,
        patience: options.patience,
        policy: options.policy,
        pretrained: options.pretrained ? resolve(options.pretrained) : undefined,
        augment: options.augment === false ? false : undefined,
        ema: options.ema === false ? false : undefined,
        resume: options.resume
      }
      if (args.folds !== undefined && args.fold === undefined) {
        await trainFolds({ ...args, folds: args.folds }, dir, options)
        return
      }
      const result = await trainOneRun(args)
      if (options.json) {
        printJson(result)
        return
      }
      const best = result.best
        ? `best epoch ${result.best.epoch}: ${describeBestRule(result.best)}`
        : 'no validation score'
      process.stdout.write(
        `${result.status}: ${result.epochsCompleted} epoch(s), ${result.globalStep} steps; ${best}\n` +
          `run folder: ${result.runDir}\n` +
          (result.status === 'completed' || result.status === 'early-stopped'
            ? ''
            : `continue with: cxr-studio train ${dir} --out ${options.out} --resume\n`)
      )
    })
}

/** One run as a job, its start and epochs drawn on stderr. */
function trainOneRun(args: TrainArgs): Promise<TrainResult> {
  let untilClock = false
  return runCliJob(
    (jobs) => trainingJob(jobs, args),
    (event, progress) => {
      if (event.name === 'start') {
        const start: TrainStartEvent = event.payload
        untilClock = start.untilTimeLimit
        const epochs = untilClock
          ? `epochs from ${start.startEpoch} until the ${start.timeLimitMinutes}-minute limit`
          : `epochs ${start.startEpoch}-${start.epochs}`
        progress.stop()
        process.stderr.write(
          `${start.resumed ? 'resuming' : 'training'} on ${start.backend.name} (${start.backend.device}): ${start.trainImages} train / ${start.valImages} validation images, ` +
            `${start.stepsPerEpoch} steps per epoch, ${epochs}, ${(start.parameters.total / 1e6).toFixed(2)}M parameters\n`
        )
        if (start.valImages === 0)
          process.stderr.write(
            'warning: no validation images (raise --val-fraction): no metric and no best checkpoint\n'
          )
      } else if (event.name === 'epoch') {
        const e: EpochEvent = event.payload
        progress.stop()
        process.stderr.write(
          `epoch ${untilClock ? e.epoch : `${e.epoch}/${e.epochs}`}: loss ${f4(e.train.total)} val ${f4(e.val?.total)} | final ${f4(e.final)} study mAP ${f4(e.studyMap)} ` +
            `opacity ${f4(e.ap.opacity)} none ${f4(e.ap.none)} | ${e.seconds.toFixed(0)} s${e.improved ? ' *best*' : ''}\n`
        )
      }
    }
  )
}

/** `--folds K` without `--fold`: the K fold runs in turn, then folds.json and its table. */
async function trainFolds(
  args: TrainArgs & { folds: number },
  dir: string,
  options: TrainCliOptions
): Promise<void> {
  const outcome = await trainAllFolds(
    args,
    (step) => trainOneRun(step.args),
    (step) =>
      process.stderr.write(
        step.action === 'done'
          ? `fold ${step.fold}/${step.folds - 1}: already trained in ${step.args.out}\n`
          : `fold ${step.fold}/${step.folds - 1}: ${step.action === 'resume' ? 'resuming' : 'training'} in ${step.args.out} (validates on fold ${step.fold})\n`
      )
  )
  if (!outcome.done) {
    process.stdout.write(
      `${outcome.result.status} in fold ${outcome.fold}: no folds.json yet\n` +
        `continue with: cxr-studio train ${dir} --out ${options.out} --folds ${args.folds} --resume\n`
    )
    return
  }
  if (options.json) {
    printJson(outcome.summary)
    return
  }
  process.stdout.write(
    `${args.folds} folds (best epoch by ${outcome.summary.bestBy}):\n${foldsTable(outcome.summary)}summary: ${outcome.path}\n`
  )
}
