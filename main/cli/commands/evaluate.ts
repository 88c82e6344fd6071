import { Option, type Command } from 'commander'
import { resolve } from 'node:path'
import { SCORED_CLASSES } from '../../../common/domain'
import type { PredictJob } from '../../ml/predict/job'
import { printJson } from '../context'
import { addPredictionOptions, predictOptions, type PredictCliOptions } from './predict'
import { predictionJob } from '../../backend/prediction/service'
import { runCliJob } from '../jobs'
import { studyModesTable } from '../../ml/predict/study-modes'

interface EvaluateCliOptions extends PredictCliOptions {
  studyCsv?: string
  imageCsv?: string
  split?: 'test' | 'val' | 'all'
  predictions?: string
  compareStudyModes?: boolean
}

export function registerEvaluate(program: Command): void {
  const command = program
    .command('evaluate')
    .description(
      'score a trained run on a labelled folder with the competition metric (six-class VOC AP@0.5). Truth: --study-csv/--image-csv; ' +
        "else test_study_level.csv + test_image_level.csv beside a test/ split (the demo's held-out truth); else the folder's train labels " +
        "(the run's validation studies when it is the run's own dataset)"
    )
    .argument('<run>', 'run folder written by `cxr-studio train`')
    .argument('<dir>', 'labelled folder')
    .option('--study-csv <file>', 'study-level truth (train_study_level.csv format)')
    .option('--image-csv <file>', 'image-level truth (train_image_level.csv format)')
    .addOption(
      new Option(
        '--split <which>',
        "test: held-out test_*_level.csv; val: the run's validation studies; all: every labelled train image"
      ).choices(['test', 'val', 'all'])
    )
    .option('--predictions <file>', 'also write the predictions JSON')
    .option(
      '--compare-study-modes',
      "also score every study mode (study-head, box-majority, combined, and the run's fitted box-evidence and fused) on the same predictions, with log-loss and ECE"
    )
  addPredictionOptions(command)
    .option('--json', 'print the report as JSON')
    .action(async (run: string, dir: string, options: EvaluateCliOptions, cmd: Command) => {
      const base = predictOptions(run, dir, { ...options, split: undefined }, cmd)
      const job: PredictJob = {
        kind: 'evaluate',
        options: {
          ...base,
          split: options.split,
          studyCsv: options.studyCsv ? resolve(options.studyCsv) : undefined,
          imageCsv: options.imageCsv ? resolve(options.imageCsv) : undefined,
          compareStudyModes: options.compareStudyModes
        },
        predictions: options.predictions ? resolve(options.predictions) : undefined
      }
      const result = await runCliJob((jobs) => predictionJob(jobs, job))
      const evaluation = result.evaluation!
      if (options.json) {
        printJson({
          ...evaluation.report,
          truth: evaluation.truthSource,
          checkpoint: result.checkpoint,
          images: result.images,
          errors: result.errors,
          studyFrom: result.studyFrom,
          studyFromNote: result.studyFromNote,
          ...(evaluation.studyModes ? { studyModes: evaluation.studyModes } : {})
        })
        return
      }
      const r = evaluation.report
      const f = (v: number | null) => (v === null ? '   n/a' : v.toFixed(4))
      const lines = [
        `${result.images} image(s) scored against ${evaluation.truthSource}`,
        `predicted with ${result.predictedWith}`,
        ...SCORED_CLASSES.map(
          (c) =>
            `  AP ${c.padEnd(14)} ${f(r.ap[c])}  (${r.counts.classes[c].groundTruth} truth, ${r.counts.classes[c].detections} predictions)`
        ),
        `  study mAP         ${f(r.studyMap)}`,
        `  image mAP         ${f(r.imageMap)}`,
        `  final             ${f(r.final)}`,
        `  study rows from   ${result.studyFrom}`
      ]
      process.stdout.write(lines.join('\n') + '\n')
      if (evaluation.studyModes)
        process.stdout.write(`study modes:\n${studyModesTable(evaluation.studyModes)}`)
      if (result.studyFromNote) process.stderr.write(`note: ${result.studyFromNote}\n`)
      for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`)
    })
}
