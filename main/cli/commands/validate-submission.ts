import type { Command } from 'commander'
import { UserError } from '../../core/errors'
import { hasErrors, validateSubmission } from '../../core/submission/validate'
import { printJson } from '../context'
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
    .option('--json', 'print {valid, errors, warnings, issues} as JSON')
    .action(async (file: string, options: { sample: string; json?: boolean }) => {
      const text = await readText(file)
      const sample = await readText(options.sample)
      const issues = validateSubmission(text, sample, { submission: file, sample: options.sample })
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
    })
}
