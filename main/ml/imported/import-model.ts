// `cxr-studio import-model` and the Runs view's "Import model…": validates an ONNX detector against
// its declared format (names, types, shapes, then one run on a blank image), copies it (and an optional
// study classifier) into a new run folder, and writes config.json last: a folder without it is not a run.
import { createHash } from 'node:crypto'
import { mkdir, readFile } from 'node:fs/promises'
import { basename, join, resolve } from 'node:path'
import type * as Ort from 'onnxruntime-node'
import { STUDY_CLASSES, type StudyClass } from '../../../common/domain'
import { UserError, errorMessage } from '../../core/errors'
import { openDataset } from '../../core/dataset'
import { writeFileAtomic } from '../../core/fs-atomic'
import { UNIFORM_PRIORS, type StudyPriors } from '../../core/submission/study-rule'
import { assertOutputAllowed, inputSource } from '../../core/write-target'
import { chooseRuntime } from '../onnx/runtime'
import { isEmptyFolder, writeRunConfig } from '../runs/run-folder'
import { DEFAULT_PREDICTION } from '../predict/predict-images'
import { checkGraph, checkStudyGraph, describeGraph, shapeText, type GraphIo } from './formats'
import type { ImportModelField } from '../../../common/contract/imported'
import {
  IMPORTED_FILES,
  ImportFieldError,
  newImportedConfig,
  parseClassMapping,
  parsePriors,
  type ImportedFormat,
  type ImportedRunConfig
} from './model-config'
import { modelInput } from './session'

export interface ImportModelOptions {
  model: string
  format: ImportedFormat
  out: string
  /** See parseClassMapping. */
  classes?: string
  studyModel?: string
  /** The square input side; required when the graph does not fix it (default 640 YOLO, 800 torchvision). */
  inputSize?: number
  name?: string
  /** `negative=…,typical=…,…` for the box-majority study rule. */
  priors?: string
  /** A Kaggle-layout folder whose train_study_level.csv gives the priors. */
  dataset?: string
  workspace: string
  scoreThreshold?: number
  iouThreshold?: number
  maxDetections?: number
}

export interface ImportResult {
  run: string
  config: ImportedRunConfig
}

type OrtModule = typeof Ort

export async function importModel(options: ImportModelOptions): Promise<ImportResult> {
  const out = resolve(options.out)
  await onField('name', async () => {
    if (!(await isEmptyFolder(out))) throw new UserError(`${options.out}: exists and is not empty; choose a new run folder`)
    await assertOutputAllowed(join(out, 'config.json'), [inputSource(resolve(options.model))])
  })
  const { ort } = await chooseRuntime('onnx')
  const classes = await onField('classes', async () => parseClassMapping(options.classes, options.format))
  const detector = await inspectDetector(ort!, options)
  if (classes.opacity !== 'all' && detector.io.classCount !== null) {
    const outside = classes.opacity.filter((c) => c >= detector.io.classCount!)
    if (outside.length)
      throw new ImportFieldError(
        'classes',
        `--classes: class ${outside.join(', ')} does not exist in ${options.model} (it predicts ${detector.io.classCount} class(es), 0-${detector.io.classCount - 1})`
      )
  }
  const study = options.studyModel
    ? await onField('studyModel', () => inspectStudyModel(ort!, options.studyModel!, options.inputSize))
    : null
  const { priors, priorsFrom } = await studyPriors(options)
  const config = newImportedConfig({
    name: options.name ?? basename(out),
    createdAt: new Date().toISOString(),
    model: {
      format: options.format,
      source: detector.source,
      file: IMPORTED_FILES.detector,
      inputName: detector.io.inputName,
      outputNames: detector.io.outputNames,
      inputSize: detector.size,
      classCount: detector.io.classCount
    },
    preprocessing: {
      letterbox: 'centred, aspect kept',
      padValue: options.format === 'torchvision' ? 0 : 114,
      scale: '1/255',
      channels: 'grey repeated as RGB',
      layout: options.format === 'torchvision' ? '[3, S, S]' : '[1, 3, S, S]'
    },
    classes,
    thresholds: {
      score: options.scoreThreshold ?? DEFAULT_PREDICTION.scoreThreshold,
      iou: options.iouThreshold ?? DEFAULT_PREDICTION.iouThreshold,
      maxDetections: options.maxDetections ?? DEFAULT_PREDICTION.maxDetections
    },
    study: study
      ? {
          from: 'study-model',
          file: IMPORTED_FILES.study,
          source: study.source,
          inputName: study.inputName,
          inputSize: study.size,
          hasNone: study.hasNone,
          priors,
          priorsFrom
        }
      : { from: 'box-majority', priors, priorsFrom }
  })
  await mkdir(join(out, IMPORTED_FILES.dir), { recursive: true })
  await writeFileAtomic(join(out, IMPORTED_FILES.detector), detector.bytes)
  if (study) await writeFileAtomic(join(out, IMPORTED_FILES.study), study.bytes)
  await writeRunConfig(out, config)
  return { run: out, config }
}

/** Runs `step`, giving a UserError it throws the form field it is about. */
async function onField<T>(field: ImportModelField, step: () => Promise<T>): Promise<T> {
  try {
    return await step()
  } catch (err) {
    if (err instanceof UserError && !(err instanceof ImportFieldError)) throw new ImportFieldError(field, err.message)
    throw err
  }
}

interface ModelFile {
  bytes: Uint8Array
  source: { file: string; sha256: string; bytes: number }
}

async function readModel(file: string, what: string): Promise<ModelFile> {
  const bytes = await readFile(file).catch((err: NodeJS.ErrnoException) => {
    throw new UserError(`${file}: cannot read the ${what} (${err.code === 'ENOENT' ? 'no such file' : (err.code ?? errorMessage(err))})`)
  })
  return {
    bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    source: { file: basename(file), sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length }
  }
}

async function openForCheck(ort: OrtModule, file: string, bytes: Uint8Array): Promise<Ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'], intraOpNumThreads: 1 })
  } catch (err) {
    throw new UserError(`${file}: ONNX Runtime cannot load it (${errorMessage(err).split('\n')[0]})`)
  }
}

async function inspectDetector(
  ort: OrtModule,
  options: ImportModelOptions
): Promise<ModelFile & { io: GraphIo; size: number }> {
  const file = options.model
  const model = await onField('model', () => readModel(file, 'model'))
  const session = await onField('model', () => openForCheck(ort, file, model.bytes))
  try {
    const io = await onField('format', async () => checkGraph(file, options.format, describeGraph(session)))
    const size = await onField('inputSize', async () =>
      inputSizeOf(file, io.fixedSize, options.inputSize, options.format === 'torchvision' ? 800 : 640)
    )
    await onField('format', () => tryRun(ort, session, file, options.format, io, size))
    return { ...model, io, size }
  } finally {
    await session.release()
  }
}

function inputSizeOf(file: string, fixed: number | null, given: number | undefined, fallback: number): number {
  if (given !== undefined && (!Number.isInteger(given) || given < 32 || given > 4096))
    throw new UserError(`--input-size ${given}: give a whole number of pixels from 32 to 4096`)
  if (fixed !== null && given !== undefined && fixed !== given)
    throw new UserError(`${file}: the model's input is fixed at ${fixed} x ${fixed}; --input-size ${given} does not match`)
  return fixed ?? given ?? fallback
}

/** One run on a blank (padding-only) image: dynamic shapes must come out in the format's layout. */
async function tryRun(
  ort: OrtModule,
  session: Ort.InferenceSession,
  file: string,
  format: ImportedFormat,
  io: GraphIo,
  size: number
): Promise<void> {
  const blank = modelInput(new Uint8Array(size * size), size, { width: size, height: size }, 114)
  const dims = format === 'torchvision' ? [3, size, size] : [1, 3, size, size]
  let results: Ort.InferenceSession.ReturnType
  try {
    results = await session.run({ [io.inputName]: new ort.Tensor('float32', blank, dims) })
  } catch (err) {
    throw new UserError(`${file}: running it on a ${shapeText(dims)} input failed (${errorMessage(err).split('\n')[0]})`)
  }
  const found = (name: string) => shapeText(results[name].dims)
  if (format === 'torchvision') {
    const boxes = results[io.roles!.boxes].dims
    if (boxes.length !== 2 || boxes[1] !== 4 || results[io.roles!.scores].dims[0] !== boxes[0])
      throw new UserError(`${file}: expected boxes [N, 4] and scores [N]; a test run gave ${found(io.roles!.boxes)} and ${found(io.roles!.scores)}`)
  } else {
    const dims = results[io.outputNames[0]].dims
    const [batch, a, b] = dims
    const ok = dims.length === 3 && batch === 1 && (format === 'yolov5' ? a > b && b >= 6 : b > a && a >= 5)
    if (!ok)
      throw new UserError(
        `${file}: expected ${format === 'yolov5' ? '[1, N, 5 + nc]' : '[1, 4 + nc, N]'} from ${io.outputNames[0]}; a test run gave ${found(io.outputNames[0])}`
      )
    if (io.classCount === null) io.classCount = format === 'yolov5' ? b - 5 : a - 4
  }
  for (const tensor of Object.values(results)) tensor.dispose()
}

async function inspectStudyModel(
  ort: OrtModule,
  file: string,
  given: number | undefined
): Promise<ModelFile & { inputName: string; size: number; hasNone: boolean }> {
  const model = await readModel(file, 'study model')
  const session = await openForCheck(ort, file, model.bytes)
  try {
    const io = checkStudyGraph(file, describeGraph(session))
    const size = io.fixedSize ?? given ?? 512
    const input = new ort.Tensor('float32', new Float32Array(3 * size * size), [1, 3, size, size])
    const results = await session.run({ [io.inputName]: input }).catch((err: unknown) => {
      throw new UserError(`${file}: running the study model on [1, 3, ${size}, ${size}] failed (${errorMessage(err).split('\n')[0]})`)
    })
    const first = results[session.outputNames[0]]
    if (first.data.length !== 4)
      throw new UserError(`${file}: the study model's first output must hold 4 values; a test run gave ${shapeText(first.dims)}`)
    return { ...model, inputName: io.inputName, size, hasNone: io.hasNone }
  } finally {
    await session.release()
  }
}

/** The box-majority rule's class frequencies: --priors, else the train split of --dataset, else uniform. */
async function studyPriors(options: ImportModelOptions): Promise<{ priors: StudyPriors; priorsFrom: string }> {
  if (options.priors) return { priors: parsePriors(options.priors), priorsFrom: '--priors' }
  if (!options.dataset) return { priors: UNIFORM_PRIORS, priorsFrom: 'uniform (no --priors or --dataset)' }
  const dataset = await openDataset(options.dataset, { workspace: options.workspace })
  const counts = Object.fromEntries(STUDY_CLASSES.map((c) => [c, 0])) as Record<StudyClass, number>
  for (const study of dataset.studies) if (study.label?.label) counts[study.label.label]++
  const total = STUDY_CLASSES.reduce((sum, c) => sum + counts[c], 0)
  if (total === 0) throw new UserError(`${options.dataset}: no labelled study (train_study_level.csv) to take priors from`)
  return {
    priors: Object.fromEntries(STUDY_CLASSES.map((c) => [c, counts[c] / total])) as StudyPriors,
    priorsFrom: `train_study_level.csv of ${options.dataset} (${total} studies)`
  }
}
