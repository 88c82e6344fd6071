// An imported run's models on ONNX Runtime: the detector (and the optional study classifier), fed
// the app's letterboxed display pixels and answering opacity boxes in original pixels.
import { join } from 'node:path'
import type * as Ort from 'onnxruntime-node'
import { STUDY_CLASSES, type StudyClass } from '../../../common/domain'
import type { PredictedBox } from '../../../common/contract/training'
import { letterboxGeometry } from '../../../common/pixels'
import { openOrtSession, type InferenceRuntimeInfo, type RuntimeFallback } from '../onnx/runtime'
import { candidates, opacityBoxes, type DecodeSettings } from './decode'
import { IMPORTED_FILES, type ImportedRunConfig } from './model-config'

type OrtModule = typeof Ort

/**
 * The model input from a letterboxed uint8 image (S x S, black padding, as TensorCache stores it):
 * the padding set to `padValue`, / 255, the grey channel repeated as R, G, B (planar [3, S, S]).
 */
export function modelInput(
  letterboxed: Uint8Array,
  size: number,
  original: { width: number; height: number },
  padValue: number
): Float32Array {
  const g = letterboxGeometry(original.width, original.height, size, size)
  const plane = size * size
  const out = new Float32Array(3 * plane)
  const pad = padValue / 255
  for (let y = 0; y < size; y++) {
    const inside = y >= g.offsetY && y < g.offsetY + g.height
    for (let x = 0; x < size; x++) {
      const i = y * size + x
      out[i] = inside && x >= g.offsetX && x < g.offsetX + g.width ? letterboxed[i] / 255 : pad
    }
  }
  out.copyWithin(plane, 0, plane)
  out.copyWithin(2 * plane, 0, plane)
  return out
}

export interface ImportedImagePrediction {
  boxes: PredictedBox[]
  /** From the study classifier, when the run has one. */
  studyProbs: Record<StudyClass, number> | null
  none: number | null
}

export class ImportedModel {
  private constructor(
    private readonly ort: OrtModule,
    private readonly config: ImportedRunConfig,
    private readonly detector: Ort.InferenceSession,
    private readonly study: Ort.InferenceSession | null,
    readonly info: InferenceRuntimeInfo
  ) {}

  static async open(
    ort: OrtModule,
    runDir: string,
    config: ImportedRunConfig,
    fallbacks: RuntimeFallback[] = []
  ): Promise<ImportedModel> {
    const { session, info } = await openOrtSession(ort, join(runDir, IMPORTED_FILES.detector), { fallbacks })
    let study: Ort.InferenceSession | null = null
    try {
      if (config.study.from === 'study-model')
        study = (await openOrtSession(ort, join(runDir, IMPORTED_FILES.study), { fallbacks: [] })).session
    } catch (err) {
      await session.release()
      throw err
    }
    return new ImportedModel(ort, config, session, study, info)
  }

  get inputSize(): number {
    return this.config.model.inputSize
  }

  get studyInputSize(): number | null {
    return this.config.study.from === 'study-model' ? this.config.study.inputSize : null
  }

  /** One image: `detectorPixels` letterboxed to inputSize, `studyPixels` to the study model's size. */
  async predict(
    detectorPixels: Uint8Array,
    studyPixels: Uint8Array | null,
    original: { width: number; height: number },
    settings: DecodeSettings
  ): Promise<ImportedImagePrediction> {
    const { model, preprocessing, classes } = this.config
    const size = model.inputSize
    const dims = model.format === 'torchvision' ? [3, size, size] : [1, 3, size, size]
    const input = new this.ort.Tensor('float32', modelInput(detectorPixels, size, original, preprocessing.padValue), dims)
    const results = await this.detector.run({ [model.inputName]: input })
    input.dispose()
    try {
      const [first] = model.outputNames
      const raw =
        model.format === 'torchvision'
          ? {
              main: results[model.outputNames[0]].data as Float32Array,
              labels: results[model.outputNames[1]].data as ArrayLike<number | bigint>,
              scores: results[model.outputNames[2]].data as Float32Array
            }
          : { main: results[first].data as Float32Array }
      const found = candidates(model.format, raw, results[first].dims)
      const boxes = opacityBoxes(found, model.format, classes, settings, original, size)
      const study = studyPixels ? await this.classify(studyPixels, original) : null
      return { boxes, studyProbs: study?.probabilities ?? null, none: study?.none ?? null }
    } finally {
      for (const tensor of Object.values(results)) tensor.dispose()
    }
  }

  private async classify(
    pixels: Uint8Array,
    original: { width: number; height: number }
  ): Promise<{ probabilities: Record<StudyClass, number>; none: number | null }> {
    const study = this.config.study
    if (study.from !== 'study-model' || !this.study) throw new Error('no study model')
    const size = study.inputSize
    // prepared like the detector's input, padding included (STUDY_MODEL_IO)
    const input = new this.ort.Tensor(
      'float32',
      modelInput(pixels, size, original, this.config.preprocessing.padValue),
      [1, 3, size, size]
    )
    const results = await this.study.run({ [study.inputName]: input })
    input.dispose()
    const [classesName, noneName] = this.study.outputNames
    const values = Array.from(results[classesName].data as Float32Array).slice(0, 4)
    const none = noneName && results[noneName] ? (results[noneName].data as Float32Array)[0] : null
    for (const tensor of Object.values(results)) tensor.dispose()
    const probs = asProbabilities(values)
    return {
      probabilities: Object.fromEntries(STUDY_CLASSES.map((c, k) => [c, probs[k]])) as Record<StudyClass, number>,
      none: none === null ? null : none >= 0 && none <= 1 ? none : 1 / (1 + Math.exp(-none))
    }
  }

  async close(): Promise<void> {
    await this.detector.release()
    await this.study?.release()
  }
}

/** Probabilities as given when they already are (each in 0-1, summing to 1), else softmax of logits. */
export function asProbabilities(values: number[]): number[] {
  const sum = values.reduce((a, b) => a + b, 0)
  if (values.every((v) => v >= 0 && v <= 1) && Math.abs(sum - 1) < 1e-3) return values
  const max = Math.max(...values)
  const exps = values.map((v) => Math.exp(v - max))
  const total = exps.reduce((a, b) => a + b, 0)
  return exps.map((v) => v / total)
}
