import { Option, type Command } from 'commander'
import { resolve } from 'node:path'
import { IMPORTED_FORMATS, STUDY_MODEL_IO, type ImportedFormat } from '../../ml/imported/model-config'
import { printJson, workspaceOf } from '../context'
import { positiveInteger, probability } from '../parsers'

interface ImportModelCliOptions {
  format: ImportedFormat
  out: string
  classes?: string
  studyModel?: string
  inputSize?: number
  name?: string
  priors?: string
  dataset?: string
  scoreThreshold?: number
  iou?: number
  maxDetections?: number
  json?: boolean
}

export function registerImportModel(program: Command): void {
  program
    .command('import-model')
    .description(
      'make a run from an ONNX detector trained elsewhere (YOLOv5, YOLOv8 or a torchvision detector): ' +
        '`predict`, `evaluate`, `submit` and the app then use it like a trained run'
    )
    .argument('<model>', 'the ONNX file')
    .addOption(
      new Option(
        '--format <format>',
        'yolov5: [1,3,S,S] -> [1,N,5+nc]; yolov8: [1,3,S,S] -> [1,4+nc,N]; torchvision: [3,H,W] -> boxes, labels, scores'
      )
        .choices([...IMPORTED_FORMATS])
        .makeOptionMandatory()
    )
    .requiredOption('--out <run>', 'run folder to create (new or empty)')
    .option(
      '--classes <mapping>',
      'which model classes are opacity: `opacity`, `0=opacity`, `0=opacity,2=opacity`, or names in model order ' +
        '(`opacity,nodule`); others are dropped. Default: every class (torchvision: every label but background 0)'
    )
    .option('--study-model <onnx>', `a study-level classifier: ${STUDY_MODEL_IO}`)
    .option('--input-size <n>', 'input side S when the model does not fix it (default 640 YOLO, 800 torchvision)', positiveInteger)
    .option('--name <name>', 'run name shown in the app (default: the folder name)')
    .option(
      '--priors <p>',
      'study-class frequencies for the box-majority rule, e.g. negative=0.27,typical=0.47,indeterminate=0.18,atypical=0.08'
    )
    .option('--dataset <dir>', "take the box-majority priors from this folder's train_study_level.csv")
    .option('--score-threshold <p>', 'drop boxes below this confidence (default 0.02)', probability)
    .option('--iou <p>', 'class-wise NMS IoU (default 0.5)', probability)
    .option('--max-detections <n>', 'boxes kept per image (default 30)', positiveInteger)
    .option('--json', 'print the run configuration as JSON')
    .action(async (model: string, options: ImportModelCliOptions, command: Command) => {
      // loaded here: onnxruntime-node is an optional dependency, not needed for --help
      const { importModel } = await import('../../ml/imported/import-model')
      const result = await importModel({
        model: resolve(model),
        format: options.format,
        out: resolve(options.out),
        classes: options.classes,
        studyModel: options.studyModel ? resolve(options.studyModel) : undefined,
        inputSize: options.inputSize,
        name: options.name,
        priors: options.priors,
        dataset: options.dataset ? resolve(options.dataset) : undefined,
        workspace: workspaceOf(command),
        scoreThreshold: options.scoreThreshold,
        iouThreshold: options.iou,
        maxDetections: options.maxDetections
      })
      if (options.json) {
        printJson(result)
        return
      }
      const { config } = result
      const study =
        config.study.from === 'study-model'
          ? `study classes from ${config.study.source.file} (${config.study.inputSize} px${config.study.hasNone ? ', with none' : ''})`
          : `study classes by box majority (priors: ${config.study.priorsFrom})`
      process.stdout.write(
        `${result.run}: imported ${config.model.source.file} (${config.model.format}, ${config.model.inputSize} px, ` +
          `${config.model.classCount ?? 'unknown number of'} class(es), sha256 ${config.model.source.sha256.slice(0, 12)})\n` +
          `classes: ${config.classes.note}\n${study}\n`
      )
    })
}
