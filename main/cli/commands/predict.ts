import { Option, type Command } from 'commander'
import { resolve } from 'node:path'
import { BACKEND_CHOICES, RUNTIME_CHOICES } from '../../../common/training'
import type { PredictJob, PredictJobResult } from '../../ml/predict/job'
import { STUDY_FROM_CHOICES } from '../../../common/domain'
import type { PredictionSettings } from '../../ml/predict/predict-images'
import { DEFAULT_STUDY_FROM } from '../../ml/predict/study-level'
import type { PredictOptions } from '../../ml/predict/run'
import { printJson, workspaceOf } from '../context'
import { predictionJob } from '../../backend/prediction/service'
import { runCliJob } from '../jobs'
import { positiveInteger, probability } from '../parsers'

/** Options `predict`, `submit` and `evaluate` share. */
export interface PredictCliOptions {
  checkpoint?: 'best' | 'last'
  backend?: PredictOptions['backend']
  runtime?: PredictOptions['runtime']
  batchSize?: number
  tta?: boolean
  merge?: PredictionSettings['merge']
  scoreThreshold?: number
  maxDetections?: number
  iouThreshold?: number
  studyFrom?: PredictionSettings['studyFrom']
  noneFrom?: PredictionSettings['noneFrom']
  json?: boolean
}

/** `--split` of predict and submit: which images of a Kaggle folder to predict. */
export function addSplitOption(command: Command): Command {
  return command.addOption(
    new Option('--split <which>', 'which images (default auto: test/ when present, else all)').choices([
      'auto',
      'test',
      'train',
      'all'
    ])
  )
}

export function addPredictionOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--checkpoint <which>', 'checkpoint of the run (default best, else last)').choices([
        'best',
        'last'
      ])
    )
    .addOption(
      new Option(
        '--runtime <name>',
        'inference runtime: auto (ONNX Runtime when it loads, else tfjs), onnx (fail if it cannot load) or tfjs (default auto)'
      ).choices(RUNTIME_CHOICES)
    )
    .addOption(new Option('--backend <name>', "tfjs backend (default: the run's)").choices(BACKEND_CHOICES))
    .option('--batch-size <n>', 'images per inference batch (default 8)', positiveInteger)
    .option('--tta', 'horizontal-flip test-time augmentation (predict the mirrored image too and merge)')
    .addOption(
      new Option(
        '--merge <mode>',
        'merge overlapping boxes by class-wise NMS or weighted box fusion (default nms)'
      ).choices(['nms', 'wbf'])
    )
    .option(
      '--score-threshold <p>',
      'drop boxes below this confidence (default 0.02: AP rewards long ranked lists)',
      probability
    )
    .option('--iou-threshold <p>', 'same-class overlap merged or suppressed (default 0.5)', probability)
    .option('--max-detections <n>', 'boxes kept per image (default 30)', positiveInteger)
    .addOption(
      new Option(
        '--study-from <source>',
        "study probabilities: the study head, the seed's box-majority rule, their mean, or the run's fitted regressions on where and how many boxes (box-evidence) and on those plus the head (fused); default " +
          `${DEFAULT_STUDY_FROM} (runs without study-fusion.json: combined)`
      ).choices(STUDY_FROM_CHOICES)
    )
    .addOption(
      new Option(
        '--none-from <source>',
        "the image 'none' score: the image head, 1 - best box, or their mean (default combined)"
      ).choices(['head', 'boxes', 'combined'])
    )
}

export function predictionSettings(options: PredictCliOptions): Partial<PredictionSettings> {
  const settings: Partial<PredictionSettings> = {}
  if (options.tta) settings.flipTta = true
  if (options.merge) settings.merge = options.merge
  if (options.scoreThreshold !== undefined) settings.scoreThreshold = options.scoreThreshold
  if (options.iouThreshold !== undefined) settings.iouThreshold = options.iouThreshold
  if (options.maxDetections !== undefined) settings.maxDetections = options.maxDetections
  if (options.studyFrom) settings.studyFrom = options.studyFrom
  if (options.noneFrom) settings.noneFrom = options.noneFrom
  return settings
}

export function predictOptions(
  run: string,
  dir: string,
  options: PredictCliOptions & { split?: PredictOptions['split'] },
  cmd: Command
): PredictOptions {
  return {
    run: resolve(run),
    dicomDir: resolve(dir),
    workspace: workspaceOf(cmd),
    checkpoint: options.checkpoint,
    backend: options.backend,
    runtime: options.runtime,
    batchSize: options.batchSize,
    split: options.split,
    settings: predictionSettings(options)
  }
}

export function printPredictSummary(result: PredictJobResult): void {
  process.stdout.write(
    `${result.images} image(s) in ${result.studies} stud${result.studies === 1 ? 'y' : 'ies'} predicted with ${result.predictedWith} ` +
      `on ${result.runtime}: ${result.boxes} box(es)\n`
  )
  for (const e of result.errors.slice(0, 20)) process.stderr.write(`warning: ${e.path}: ${e.reason}\n`)
  if (result.errors.length > 20) process.stderr.write(`warning: … and ${result.errors.length - 20} more\n`)
  if (result.predictionsPath) process.stdout.write(`predictions: ${result.predictionsPath}\n`)
  if (result.submission) {
    const s = result.submission
    process.stdout.write(`submission: ${s.path} (${s.rows} rows, ids from ${s.sample}; validated)\n`)
    if (s.filled.length)
      process.stderr.write(
        `warning: ${s.filled.length} id(s) had no prediction and got a neutral row, e.g. ${s.filled[0]}\n`
      )
  }
}

export function registerPredict(program: Command): void {
  const command = program
    .command('predict')
    .description(
      'predict a folder of DICOMs with a trained run: boxes in original pixels, none score, study probabilities'
    )
    .argument('<run>', 'run folder written by `cxr-studio train`')
    .argument('<dicom-dir>', 'folder of DICOM files (Kaggle layout or any)')
    .requiredOption('--out <file>', 'predictions JSON to write')
    .option('--submission <file>', 'also write a Kaggle submission CSV')
  predictJobAction<{ submission?: string }>(command, (run, dir, options, cmd) => ({
    kind: 'predict',
    options: predictOptions(run, dir, options, cmd),
    out: resolve(options.out),
    submission: options.submission ? resolve(options.submission) : undefined
  }))
}

type JobOptions<O> = PredictCliOptions & O & { out: string; split?: PredictOptions['split'] }

/** The shared tail of predict and submit: their options, --json, and the job run in the predict worker. */
export function predictJobAction<O>(
  command: Command,
  job: (run: string, dir: string, options: JobOptions<O>, cmd: Command) => PredictJob
): void {
  addPredictionOptions(addSplitOption(command))
    .option('--json', 'print the summary as JSON')
    .action(async (run: string, dir: string, options: JobOptions<O>, cmd: Command) => {
      const result = await runCliJob((jobs) => predictionJob(jobs, job(run, dir, options, cmd)))
      if (options.json) printJson(result)
      else printPredictSummary(result)
    })
}
