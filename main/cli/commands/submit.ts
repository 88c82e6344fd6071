import type { Command } from 'commander'
import { resolve } from 'node:path'
import type { PredictJob, PredictJobResult } from '../../ml/predict/job'
import type { PredictOptions } from '../../ml/predict/run'
import { printJson } from '../context'
import {
  addPredictionOptions,
  addSplitOption,
  predictOptions,
  printPredictSummary,
  type PredictCliOptions
} from './predict'
import { runCliJob } from './train'

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
  addPredictionOptions(addSplitOption(command))
    .option('--json', 'print the summary as JSON')
    .action(
      async (
        run: string,
        dir: string,
        options: PredictCliOptions & { out: string; predictions?: string; split?: PredictOptions['split'] },
        cmd: Command
      ) => {
        const job: PredictJob = {
          kind: 'submit',
          options: predictOptions(run, dir, options, cmd),
          out: resolve(options.out),
          predictions: options.predictions ? resolve(options.predictions) : undefined
        }
        const result = await runCliJob<PredictJobResult>('predict-worker', job)
        if (options.json) printJson(result)
        else printPredictSummary(result)
      }
    )
}
