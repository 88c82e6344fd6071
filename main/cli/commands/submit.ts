import type { Command } from 'commander'
import { resolve } from 'node:path'
import { predictJobAction, predictOptions } from './predict'

export function registerSubmit(program: Command): void {
  const command = program
    .command('submit')
    .description(
      'write a Kaggle submission for a test folder with a trained run: every study (four classes with probabilities) and image ' +
        '(opacity boxes + none) of the folder, in sample_submission.csv order when present, validated'
    )
    .argument('<run>', 'run folder written by `cxr-studio train`')
    .argument('<test-dir>', 'Kaggle folder (its test/ split is used) or any folder of DICOMs')
    .requiredOption('--out <file>', 'submission CSV to write')
    .option('--predictions <file>', 'also write the predictions JSON')
  predictJobAction<{ predictions?: string }>(command, (run, dir, options, cmd) => ({
    kind: 'submit',
    options: predictOptions(run, dir, options, cmd),
    out: resolve(options.out),
    predictions: options.predictions ? resolve(options.predictions) : undefined
  }))
}
