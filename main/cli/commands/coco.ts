import { Option, type Command } from 'commander'
import { join } from 'node:path'
import { FILTER_POLICIES, type FilterPolicy } from '../../../common/dataset'
import { openDataset, POLICY_DESCRIPTIONS } from '../../core/dataset'
import { UserError } from '../../core/errors'
import { exportCoco } from '../../core/export/coco'
import type { CategoryMode, ImageFormat } from '../../core/export/plan'
import { exportSummaryLines, type ExportOptions, type ExportSummary } from '../../core/export/run'
import type { Dataset } from '../../../common/dataset'
import type { FileError } from '../../../common/domain'
import { fraction, integer } from '../parsers'
import { printJson, workspaceOf } from '../context'
import { stderrProgress } from '../progress'

export interface ExportCliOptions {
  out: string
  valFraction: number
  seed: number
  policy: FilterPolicy
  categories: CategoryMode
  images?: ImageFormat
  size?: number
  test?: boolean
  recipes: boolean
  json?: boolean
}

/** Errors listed in the readable summary; the rest are counted. */
const MAX_LISTED = 20

export function registerCoco(program: Command): void {
  const command = program
    .command('coco')
    .description(
      'export the kept train images of a Kaggle folder as COCO (OUT/train.json, OUT/val.json), split by study'
    )
    .argument('<dir>', 'Kaggle dataset folder')
  addExportOptions(command, 'also write PNGs to OUT/images/{train,val}/ and describe boxes in their pixels')
  command.action((dir: string, options: ExportCliOptions, cmd: Command) => {
    if (options.size !== undefined && !options.images) throw new UserError('--size needs --images png8|png16')
    return runExportCommand(dir, options, cmd, exportCoco)
  })
}

/** The options `coco` and `yolo` share. */
export function addExportOptions(command: Command, imagesHelp: string): void {
  command
    .requiredOption('--out <dir>', 'output folder (must not be inside the dataset folder)')
    .option('--val-fraction <f>', 'fraction of studies per study class that go to validation', fraction, 0.2)
    .option('--seed <n>', 'seed of the study split', integer, 42)
    .addOption(
      new Option(
        '--policy <policy>',
        `which images of multi-image studies to keep: ${FILTER_POLICIES.map((p) => `${p}: ${POLICY_DESCRIPTIONS[p]}`).join('; ')}`
      )
        .choices(FILTER_POLICIES)
        .default('keep-boxed')
    )
    .addOption(
      new Option('--categories <mode>', 'box categories: opacity, or the four study classes')
        .choices(['opacity', 'study'])
        .default('opacity')
    )
    .addOption(
      new Option(
        '--images <format>',
        `${imagesHelp}: png8 (after VOI) or png16 (the same VOI on 0..65535; values clamped by the window are reported)`
      ).choices(['png8', 'png16'])
    )
    .option(
      '--size <px>',
      'longest side of exported images in pixels (aspect ratio kept; default: original size)',
      integer
    )
    .option(
      '--test',
      'also export the test/ split (no labels): COCO test.json with its images, YOLO images/test and `test:` in dataset.yaml'
    )
    .option(
      '--no-recipes',
      'do not write the hand-off recipes (YOLO: train-ultralytics.sh; COCO: train_torchvision.py; README.md: train on one or many GPUs, export ONNX, `cxr-studio import-model` it back)'
    )
    .option('--json', 'print the export summary as JSON')
}

export async function runExportCommand(
  dir: string,
  options: ExportCliOptions,
  command: Command,
  run: (dataset: Dataset, options: ExportOptions) => Promise<ExportSummary>
): Promise<void> {
  const progress = stderrProgress()
  let summary: ExportSummary
  try {
    const dataset = await openDataset(dir, { workspace: workspaceOf(command), onProgress: progress })
    summary = await run(dataset, {
      outDir: options.out,
      valFraction: options.valFraction,
      seed: options.seed,
      policy: options.policy,
      categories: options.categories,
      images: options.images ? { format: options.images, size: options.size } : undefined,
      test: options.test,
      recipes: options.recipes ? { runsDir: join(workspaceOf(command), 'runs') } : undefined,
      onProgress: progress
    })
  } finally {
    progress.stop()
  }
  if (options.json) return printJson(summary)
  const out = exportSummaryLines(summary)
  if (summary.clampedImages)
    out.push(`  ${summary.clampedImages} image(s) had values outside the VOI window, clamped (png16):`)
  listed(out, summary.warnings)
  if (summary.errors.length) out.push(`  ${summary.errors.length} problem(s):`)
  listed(out, summary.errors)
  process.stdout.write(out.join('\n') + '\n')
}

function listed(out: string[], problems: readonly FileError[]): void {
  for (const problem of problems.slice(0, MAX_LISTED)) out.push(`    ${problem.path}: ${problem.reason}`)
  if (problems.length > MAX_LISTED)
    out.push(`    … and ${problems.length - MAX_LISTED} more (--json lists all)`)
}
