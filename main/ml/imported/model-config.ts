// A run of kind `imported`: an ONNX detector trained elsewhere (YOLOv5, YOLOv8 or a torchvision
// detector), copied into the run folder with everything needed to feed it and read its outputs:
//   config.json        kind "imported", format, source file + sha256, input size, class mapping,
//                      letterbox/normalisation, thresholds, study-class source and priors
//   model/model.onnx   the detector as imported
//   model/study.onnx   optional: a study-level classifier (see STUDY_MODEL_IO)
import { STUDY_CLASSES, type StudyClass } from '../../../common/domain'
import { UserError } from '../../core/errors'
import { RUN_FORMAT, RUN_FORMAT_VERSION, type RunHeader } from '../runs/run-folder'
import type { StudyPriors } from '../../core/submission/study-rule'

export { IMPORTED_FORMATS, type ImportedFormat } from '../../../common/contract/imported'
import type { ImportModelField, ImportedFormat } from '../../../common/contract/imported'

/** A refusal of an import, with the form field it is about (the Runs view shows it there). */
export class ImportFieldError extends UserError {
  constructor(
    readonly field: ImportModelField,
    message: string
  ) {
    super(message)
  }
}

export const IMPORTED_FILES = {
  dir: 'model',
  detector: 'model/model.onnx',
  study: 'model/study.onnx'
} as const

/**
 * How a model input is made from the app's display pixels (main/ml/data/display-source.ts: modality
 * LUT, VOI, MONOCHROME1 inverted): letterboxed to S x S by common/pixels (area averaging, centred at
 * floor((S - w) / 2)), the padding set to `padValue`, divided by 255, the grey channel repeated as RGB.
 */
export interface ImportedPreprocessing {
  letterbox: 'centred, aspect kept'
  /** 114 for YOLO (Ultralytics' LetterBox default), 0 for torchvision (as CXR Studio's own detectors). */
  padValue: number
  /** Pixels are uint8 / 255; torchvision models normalise (mean/std) and resize inside the graph. */
  scale: '1/255'
  channels: 'grey repeated as RGB'
  layout: '[1, 3, S, S]' | '[3, S, S]'
}

export interface ImportedRunConfig extends RunHeader {
  kind: 'imported'
  name: string
  createdAt: string
  model: {
    format: ImportedFormat
    source: { file: string; sha256: string; bytes: number }
    file: typeof IMPORTED_FILES.detector
    inputName: string
    outputNames: string[]
    /** The square input side S. */
    inputSize: number
    /** Classes the model predicts (YOLO: from the output shape; torchvision: unknown, null). */
    classCount: number | null
  }
  preprocessing: ImportedPreprocessing
  /** Model class indices (torchvision: labels, 0 = background) that are opacity; every other class is dropped. */
  classes: { opacity: number[] | 'all'; note: string }
  thresholds: { score: number; iou: number; maxDetections: number }
  study:
    | { from: 'box-majority'; priors: StudyPriors; priorsFrom: string }
    | {
        from: 'study-model'
        file: typeof IMPORTED_FILES.study
        source: { file: string; sha256: string; bytes: number }
        inputName: string
        inputSize: number
        hasNone: boolean
        priors: StudyPriors
        priorsFrom: string
      }
}

/** What a study classifier must look like (README, `import-model --help`). */
export const STUDY_MODEL_IO =
  'input [1, 3, S, S] float (prepared like the detector input: letterbox with its padding, /255, grey as RGB); ' +
  'first output [1, 4] probabilities or logits in the order negative, typical, indeterminate, atypical ' +
  '(softmax applied unless they already sum to 1); optional second output [1, 1] the image-level ' +
  '`none` probability or logit (sigmoid applied when outside 0-1)'

export function isImportedRun(config: RunHeader): config is ImportedRunConfig {
  return (config as Partial<ImportedRunConfig>).kind === 'imported'
}

/** A run's study-class priors: a trained run's training frequencies, an imported run's own. */
export function runPriors(config: (RunHeader & { classPriors?: unknown }) | null): StudyPriors | null {
  if (!config) return null
  if (isImportedRun(config)) return config.study.priors
  return (config.classPriors as StudyPriors | undefined) ?? null
}

export function newImportedConfig(fields: Omit<ImportedRunConfig, 'format' | 'formatVersion' | 'kind'>): ImportedRunConfig {
  return { format: RUN_FORMAT, formatVersion: RUN_FORMAT_VERSION, kind: 'imported', ...fields }
}

/**
 * `--classes`: `opacity` (one-class model), `0=opacity`, `0=opacity,2=opacity`, or names in model
 * order `opacity,nodule` (index = position). Indices not named opacity are dropped.
 */
export function parseClassMapping(text: string | undefined, format: ImportedFormat): ImportedRunConfig['classes'] {
  if (text === undefined || text.trim() === '' || text.trim() === 'opacity')
    return {
      opacity: 'all',
      note:
        format === 'torchvision'
          ? 'every foreground label (1, 2, ...) is opacity; label 0 is background'
          : 'every class is opacity (a one-class model; a multi-class model counts any class as opacity)'
    }
  const parts = text.split(',').map((part) => part.trim()).filter(Boolean)
  const opacity: number[] = []
  if (parts.every((part) => part.includes('='))) {
    for (const part of parts) {
      const [index, name] = part.split('=').map((s) => s.trim())
      if (!/^\d+$/.test(index)) throw new UserError(`--classes: "${part}" is not INDEX=NAME (e.g. 0=opacity)`)
      if (name.toLowerCase() === 'opacity') opacity.push(Number(index))
    }
  } else if (parts.some((part) => part.includes('='))) {
    throw new UserError(`--classes: mix of INDEX=NAME and plain names in "${text}"`)
  } else {
    parts.forEach((name, index) => {
      if (name.toLowerCase() === 'opacity') opacity.push(format === 'torchvision' ? index + 1 : index)
    })
  }
  if (opacity.length === 0) throw new UserError(`--classes: no class is named opacity in "${text}"`)
  return { opacity, note: `class index(es) ${opacity.join(', ')} are opacity; every other class is dropped` }
}

/** `--priors negative=0.3,typical=0.5,indeterminate=0.15,atypical=0.05` (normalised to sum 1). */
export function parsePriors(text: string): StudyPriors {
  const priors = Object.fromEntries(STUDY_CLASSES.map((c) => [c, 0])) as Record<StudyClass, number>
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [name, value] = part.split('=').map((s) => s.trim())
    if (!(STUDY_CLASSES as readonly string[]).includes(name))
      throw new UserError(`--priors: "${name}" is not one of ${STUDY_CLASSES.join(', ')}`)
    const number = Number(value)
    if (!Number.isFinite(number) || number < 0) throw new UserError(`--priors: "${part}" needs a number >= 0`)
    priors[name as StudyClass] = number
  }
  const total = STUDY_CLASSES.reduce((sum, c) => sum + priors[c], 0)
  if (total <= 0) throw new UserError(`--priors: "${text}" gives no class a positive weight`)
  return Object.fromEntries(STUDY_CLASSES.map((c) => [c, priors[c] / total])) as StudyPriors
}
