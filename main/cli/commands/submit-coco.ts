import { Option, type Command } from 'commander'
import { resolve } from 'node:path'
import { openDataset } from '../../core/dataset'
import { writeCocoSubmission, type SubmissionIds } from '../../core/submission/from-coco'
import { printJson, workspaceOf } from '../context'
import { stderrProgress } from '../progress'

/** Warnings printed; the rest are counted (--json lists all). */
const MAX_LISTED = 20

interface SubmitCocoOptions {
  imagesJson?: string
  dataset: string
  ids: SubmissionIds
  out: string
  json?: boolean
}

export function registerSubmitCoco(program: Command): void {
  program
    .command('submit-coco')
    .description(
      'write a Kaggle submission from COCO detection results (or a COCO ground-truth file): image rows from the boxes ' +
        'and their scores with none = 1 - the best score, study rows by the box-majority rule, validated before it is written'
    )
    .argument(
      '<coco.json>',
      'COCO results ([{image_id, category_id, bbox, score}]) or a COCO ground-truth file'
    )
    .option(
      '--images-json <file>',
      'for results: the COCO file their image_id and category_id refer to (e.g. val.json)'
    )
    .requiredOption(
      '--dataset <dir>',
      'the Kaggle folder of the images: their studies, DICOM sizes and sample_submission.csv (never written)'
    )
    .addOption(
      new Option(
        '--ids <which>',
        'rows to write: every id of DIR/sample_submission.csv, or the studies and images of the COCO file (a validation split)'
      )
        .choices(['sample', 'coco'])
        .default('sample')
    )
    .requiredOption('--out <file>', 'submission CSV to write (not inside the dataset folder)')
    .option('--json', 'print the outcome as JSON')
    .action(async (coco: string, options: SubmitCocoOptions, cmd: Command) => {
      const progress = stderrProgress()
      const dataset = await openDataset(options.dataset, {
        workspace: workspaceOf(cmd),
        onProgress: progress
      }).finally(() => progress.stop())
      const outcome = await writeCocoSubmission({
        cocoPath: coco,
        imagesJson: options.imagesJson,
        dataset,
        ids: options.ids,
        outPath: resolve(options.out)
      })
      if (options.json) return printJson(outcome)
      process.stdout.write(
        `${outcome.path}: ${outcome.studies + outcome.images} rows (${outcome.studies} study, ${outcome.images} image) ` +
          `from the COCO ${outcome.kind} in ${coco}; ids from ${outcome.sample}; validated\n`
      )
      const warnings = [...outcome.warnings]
      if (outcome.filled.length)
        warnings.unshift(
          `${outcome.filled.length} id(s) of the sample have no image in the COCO file and got a neutral row, e.g. ${outcome.filled[0]}`
        )
      if (outcome.clippedBoxes || outcome.droppedBoxes)
        warnings.unshift(
          `${outcome.clippedBoxes} box(es) cut at their image's border, ${outcome.droppedBoxes} dropped as wholly outside it`
        )
      for (const warning of warnings.slice(0, MAX_LISTED)) process.stderr.write(`warning: ${warning}\n`)
      if (warnings.length > MAX_LISTED)
        process.stderr.write(`warning: … and ${warnings.length - MAX_LISTED} more (--json lists all)\n`)
    })
}
