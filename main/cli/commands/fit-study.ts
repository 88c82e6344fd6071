import { Option, type Command } from 'commander'
import { resolve } from 'node:path'
import { BACKEND_CHOICES, RUNTIME_CHOICES } from '../../../common/training'
import type { PredictJob } from '../../ml/predict/job'
import { printJson, workspaceOf } from '../context'
import { predictionJob } from '../../backend/prediction/service'
import { runCliJob } from '../jobs'

interface FitStudyCliOptions {
  checkpoint?: 'best' | 'last'
  backend?: (typeof BACKEND_CHOICES)[number]
  runtime?: (typeof RUNTIME_CHOICES)[number]
  json?: boolean
}

export function registerFitStudy(program: Command): void {
  program
    .command('fit-study')
    .description(
      "fit a run's study regressions (the box-evidence and fused study modes) on its own labelled images: " +
        'predict them with the run, take per study where and how many boxes it found (and the study head), fit a ' +
        'multinomial logistic regression (L2 by cross-validation) and write <run>/study-fusion.json. Training does this at its end'
    )
    .argument('<run>', 'run folder written by `cxr-studio train`')
    .argument('<dir>', "the run's labelled dataset (train/ + the label CSVs)")
    .addOption(
      new Option('--checkpoint <which>', 'checkpoint of the run (default best, else last)').choices([
        'best',
        'last'
      ])
    )
    .addOption(new Option('--runtime <name>', 'inference runtime (default auto)').choices(RUNTIME_CHOICES))
    .addOption(new Option('--backend <name>', "tfjs backend (default: the run's)").choices(BACKEND_CHOICES))
    .option('--json', 'print the result as JSON')
    .action(async (run: string, dir: string, options: FitStudyCliOptions, cmd: Command) => {
      const job: PredictJob = {
        kind: 'fit-study',
        options: {
          run: resolve(run),
          dicomDir: resolve(dir),
          workspace: workspaceOf(cmd),
          checkpoint: options.checkpoint,
          backend: options.backend,
          runtime: options.runtime
        }
      }
      const result = await runCliJob((jobs) => predictionJob(jobs, job))
      const fusion = result.studyFusion!
      if (options.json) {
        printJson({ path: fusion.path, ...fusion.file })
        return
      }
      const { fittedOn, reports } = fusion.file
      const lines = [
        `${fusion.path}: fitted on ${fittedOn.studies} studies (${fittedOn.images} images) of ${fittedOn.source} with ${result.predictedWith}`,
        `  per class: ${Object.entries(fittedOn.perClass)
          .map(([c, n]) => `${c} ${n}`)
          .join(', ')}`,
        ...(['box-evidence', 'fused'] as const).map((mode) => {
          const r = reports[mode]
          const best = r.crossValidation.reduce((a, b) => (b.logLoss < a.logLoss ? b : a))
          return `  ${mode.padEnd(12)} L2 ${best.l2}: cross-validated log-loss ${best.logLoss.toFixed(4)}, on the fit data ${r.fitLogLoss.toFixed(4)} (ECE ${r.fitEce.toFixed(4)})`
        })
      ]
      process.stdout.write(lines.join('\n') + '\n')
    })
}
