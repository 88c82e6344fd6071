import type { Command } from 'commander'
import { openDataset } from '../../core/dataset'
import { UserError } from '../../core/errors'
import { hasErrors, validateSubmission, type ImageSize } from '../../core/submission/validate'
import { printJson, workspaceOf } from '../context'
import { stderrProgress } from '../progress'
import { readText } from './score'

/** Problems listed in the readable output; the rest are counted. */
const MAX_LISTED = 50

export function registerValidateSubmission(program: Command): void {
  program
    .command('validate-submission')
    .description(
      'check a submission CSV against the sample submission: header, ids, PredictionString grammar, boxes'
    )
    .argument('<file>', 'submission CSV (id,PredictionString)')
    .requiredOption('--sample <file>', 'sample_submission.csv of the same test set')
    .option(
      '--dataset <dir>',
      'the DICOM folder the submission predicts: opacity boxes outside their image (Columns x Rows, half a pixel of tolerance) are errors'
    )
    .option('--json', 'print {valid, errors, warnings, issues} as JSON')
    .action(
      async (file: string, options: { sample: string; dataset?: string; json?: boolean }, cmd: Command) => {
        const text = await readText(file)
        const sample = await readText(options.sample)
        const imageSizes = options.dataset ? await imageSizesOf(options.dataset, cmd) : undefined
        const issues = validateSubmission(
          text,
          sample,
          { submission: file, sample: options.sample },
          { imageSizes }
        )
        const errors = issues.filter((i) => i.severity === 'error').length
        const warnings = issues.length - errors
        if (options.json) printJson({ valid: errors === 0, errors, warnings, issues })
        else {
          for (const issue of issues.slice(0, MAX_LISTED))
            process.stdout.write(
              `${file}${issue.line ? `:${issue.line}` : ''}: ${issue.severity}: ${issue.message}\n`
            )
          if (issues.length > MAX_LISTED) process.stdout.write(`… and ${issues.length - MAX_LISTED} more\n`)
          if (!hasErrors(issues))
            process.stdout.write(`${file}: valid${warnings ? ` (${warnings} warning(s))` : ''}\n`)
        }
        if (hasErrors(issues))
          throw new UserError(`${file}: invalid submission: ${errors} error(s), ${warnings} warning(s)`)
      }
    )
}

/** imageId -> Columns x Rows of every readable DICOM of the folder (header index, cached in the workspace). */
export async function imageSizesOf(dir: string, cmd: Command): Promise<Map<string, ImageSize>> {
  const progress = stderrProgress()
  try {
    const dataset = await openDataset(dir, { workspace: workspaceOf(cmd), onProgress: progress })
    const sizes = new Map<string, ImageSize>()
    for (const image of dataset.images) {
      if (image.record)
        sizes.set(image.imageId, {
          columns: image.record.columns,
          rows: image.record.rows,
          path: image.record.path
        })
    }
    if (sizes.size === 0)
      throw new UserError(`${dir}: no readable DICOM files, so no image sizes to check boxes against`)
    return sizes
  } finally {
    progress.stop()
  }
}
