import { InvalidArgumentError, type Command } from 'commander'
import { resolve } from 'node:path'
import type { CheckpointName } from '../../ml/runs/checkpoint-meta'
import {
  DEFAULT_ENSEMBLE_IOU,
  DEFAULT_SKIP_BOX_THRESHOLD,
  createEnsemble,
  type EnsembleConfigFile
} from '../../ml/ensemble/config'
import { UserError } from '../../core/errors'
import { printJson } from '../context'
import { fraction, probability } from '../parsers'

interface EnsembleCliOptions {
  out: string
  weights?: number[]
  checkpoint?: CheckpointName[]
  iou?: number
  skipBoxThr?: number
  json?: boolean
}

function weightList(value: string): number[] {
  const weights = value.split(',').map((w) => Number(w.trim()))
  if (weights.some((w) => !Number.isFinite(w) || w <= 0))
    throw new InvalidArgumentError('expected positive numbers separated by commas, e.g. 2,1')
  return weights
}

function checkpointList(value: string): CheckpointName[] {
  const names = value.split(',').map((c) => c.trim())
  if (names.some((c) => c !== 'best' && c !== 'last'))
    throw new InvalidArgumentError(
      'expected best or last, or one per member separated by commas (e.g. best,last)'
    )
  return names as CheckpointName[]
}

/** One value per member: a list as long as the members, or one value for all of them. */
function perMember<T>(values: T[] | undefined, count: number, option: string): Array<T | undefined> {
  if (!values) return Array.from({ length: count }, () => undefined)
  if (values.length === 1) return Array.from({ length: count }, () => values[0])
  if (values.length !== count)
    throw new UserError(
      `${option}: ${values.length} value(s) for ${count} member run(s); give one per member, or one for all`
    )
  return values
}

export function registerEnsemble(program: Command): void {
  program
    .command('ensemble')
    .description(
      'make an ensemble run: predict/evaluate/submit with it run every member (trained or imported runs) and fuse ' +
        "their boxes by weighted box fusion (ensemble-boxes' WBF, conf_type avg), the none score and study probabilities by weighted means"
    )
    .argument('<runs...>', 'two or more run folders')
    .requiredOption('--out <dir>', 'the ensemble run folder to create (new or empty)')
    .option('--weights <list>', 'one weight per member, e.g. 2,1 (default 1 each)', weightList)
    .option(
      '--checkpoint <list>',
      'best or last for every member, or one per member, e.g. best,last (default best, else last)',
      checkpointList
    )
    .option(
      '--iou <p>',
      `same-class boxes of different members overlapping more than this are fused (default ${DEFAULT_ENSEMBLE_IOU})`,
      probability
    )
    .option(
      '--skip-box-thr <p>',
      `member boxes below this confidence are ignored (default ${DEFAULT_SKIP_BOX_THRESHOLD})`,
      fraction
    )
    .option('--json', 'print the ensemble config as JSON')
    .action(async (runs: string[], options: EnsembleCliOptions) => {
      const weights = perMember(options.weights, runs.length, '--weights')
      const checkpoints = perMember(options.checkpoint, runs.length, '--checkpoint')
      const config = await createEnsemble({
        out: resolve(options.out),
        members: runs.map((run, i) => ({
          run: resolve(run),
          weight: weights[i],
          checkpoint: checkpoints[i]
        })),
        iouThreshold: options.iou,
        skipBoxThreshold: options.skipBoxThr
      })
      if (options.json) return printJson({ path: resolve(options.out), ...config })
      printEnsemble(resolve(options.out), config)
    })
}

function printEnsemble(out: string, config: EnsembleConfigFile): void {
  const lines = [
    `Ensemble ${out}: ${config.members.length} members, WBF IoU ${config.fusion.iouThreshold}, skip below ${config.fusion.skipBoxThreshold}`,
    ...config.members.map(
      (m) =>
        `  ${m.name.padEnd(24)} weight ${m.weight}  ${m.kind === 'trained' ? `checkpoint ${m.checkpoint ?? 'best, else last'}` : m.kind}  (${m.absolutePath})`
    ),
    `predict with: cxr-studio predict ${out} DICOM_DIR --out predictions.json`
  ]
  process.stdout.write(lines.join('\n') + '\n')
}
