// Prediction with an imported run, called from runPrediction (main/ml/predict/run.ts) where a trained
// run would load its checkpoint, so `predict`, `evaluate`, `submit`, the back end and ensembles use
// imported runs unchanged. Images are prepared by the same tensor cache as training (display pixels,
// letterbox), then fed to the ONNX model one at a time, as exported detectors take one image.
import { join } from 'node:path'
import type { ImportedModelInfo } from '../../../common/contract/imported'
import { STUDY_CLASSES, type StudyClass } from '../../../common/domain'
import { UserError } from '../../core/errors'
import { boxMajority } from '../../core/submission/study-rule'
import { initBackend } from '../backend/ladder'
import { openDisplaySource } from '../data/display-source'
import { samplesOf, type ImageSample } from '../data/samples'
import { TensorCache } from '../data/tensor-cache'
import { chooseRuntime } from '../onnx/runtime'
import {
  DEFAULT_PREDICTION,
  type ImagePredictionRecord,
  type PredictionSettings
} from '../predict/predict-images'
import {
  openImagesToPredict,
  type PredictContext,
  type PredictOptions,
  type PredictionSet
} from '../predict/run'
import { effectiveStudyMode } from '../predict/study-fusion-file'
import { studyPredictions } from '../predict/study-level'
import { IMPORTED_FILES, type ImportedRunConfig } from './model-config'
import { ImportedModel } from './session'

/** What predicted, in place of a checkpoint (predictions.json, summaries). */
export type ImportedModelDescription = ImportedModelInfo

export function describeImported(config: ImportedRunConfig): ImportedModelDescription {
  return {
    kind: 'imported',
    format: config.model.format,
    source: config.model.source.file,
    sha256: config.model.source.sha256,
    inputSize: config.model.inputSize,
    study: config.study.from
  }
}

/**
 * The settings an imported run predicts with: the run's thresholds unless the caller gives others;
 * study classes and `none` from the study model when the run has one, else from the boxes.
 */
export function importedSettings(
  config: ImportedRunConfig,
  given: Partial<PredictionSettings> = {}
): PredictionSettings {
  const hasStudy = config.study.from === 'study-model'
  const hasNone = config.study.from === 'study-model' && config.study.hasNone
  const settings: PredictionSettings = {
    ...DEFAULT_PREDICTION,
    scoreThreshold: config.thresholds.score,
    iouThreshold: config.thresholds.iou,
    maxDetections: config.thresholds.maxDetections,
    ...given,
    // one view: an imported model is not run twice for flip TTA, and NMS is what its engine does
    merge: 'nms',
    flipTta: false
  }
  if (!hasStudy) settings.studyFrom = 'box-majority'
  if (!hasNone) settings.noneFrom = 'boxes'
  return settings
}

export async function predictImportedRun(
  options: PredictOptions,
  ctx: PredictContext,
  config: ImportedRunConfig
): Promise<PredictionSet> {
  if (options.runtime === 'tfjs')
    throw new UserError(
      `${options.run}: an imported ONNX model runs on ONNX Runtime only (not --runtime tfjs)`
    )
  const chosen = await chooseRuntime('onnx')
  const backend = await initBackend(options.backend ?? 'auto')
  const { dataset, images } = await openImagesToPredict(options, ctx)
  const settings = importedSettings(config, options.settings)
  // the box-evidence and fused regressions are fitted by training: an imported run has none, so the
  // shared rule falls back to combined (an explicit ask was refused in runPrediction already)
  settings.studyFrom = effectiveStudyMode(options.run, settings.studyFrom, false, null).mode
  const ownSource = ctx.source ? null : openDisplaySource()
  const source = ctx.source ?? ownSource!
  let model: ImportedModel | null = null
  try {
    model = await ImportedModel.open(chosen.ort!, options.run, config, chosen.fallbacks)
    const detectorCache = TensorCache.forDataset(options.workspace, options.dicomDir, model.inputSize, source)
    const studySize = model.studyInputSize
    const studyCache =
      studySize === null
        ? null
        : studySize === model.inputSize
          ? detectorCache
          : TensorCache.forDataset(options.workspace, options.dicomDir, studySize, source)
    const all = samplesOf(dataset, images)
    const prepared = await detectorCache.prepare(all, {
      onProgress: ctx.onProgress,
      signal: ctx.signal,
      concurrency: 3
    })
    const predicted = await predictEach(
      model,
      prepared.ready,
      detectorCache,
      studyCache,
      settings,
      config,
      ctx
    )
    const priors = config.study.priors
    return {
      run: options.run,
      checkpoint: { dir: join(options.run, IMPORTED_FILES.dir), name: 'best', epoch: 0, globalStep: 0 },
      model: describeImported(config),
      dataset,
      selected: all,
      images: predicted,
      studies: studyPredictions(predicted, settings.studyFrom, priors),
      settings,
      backend,
      runtime: model.info,
      errors: [...dataset.fileErrors, ...prepared.errors],
      priors
    }
  } finally {
    await model?.close()
    await ownSource?.close()
  }
}

async function predictEach(
  model: ImportedModel,
  samples: ImageSample[],
  detectorCache: TensorCache,
  studyCache: TensorCache | null,
  settings: PredictionSettings,
  config: ImportedRunConfig,
  ctx: PredictContext
): Promise<ImagePredictionRecord[]> {
  const out: ImagePredictionRecord[] = []
  const total = samples.length
  ctx.onProgress?.({ stage: 'predict', done: 0, total })
  for (const sample of samples) {
    ctx.signal?.throwIfAborted()
    const pixels = await detectorCache.load(sample)
    const studyPixels = studyCache ? await studyCache.load(sample) : null
    const p = await model.predict(pixels, studyPixels, sample, settings)
    const fromBoxes = 1 - (p.boxes[0]?.confidence ?? 0)
    const none =
      p.none === null || settings.noneFrom === 'boxes'
        ? fromBoxes
        : settings.noneFrom === 'head'
          ? p.none
          : (fromBoxes + p.none) / 2
    // without a study model, an image's study probabilities are the box-majority rule on its own boxes
    const studyProbs: Record<StudyClass, number> =
      p.studyProbs ?? boxMajority([p.boxes[0]?.confidence ?? 0], config.study.priors)
    out.push({
      imageId: sample.imageId,
      studyId: sample.studyId,
      path: sample.relPath,
      width: sample.width,
      height: sample.height,
      boxes: p.boxes,
      none,
      studyProbs: Object.fromEntries(STUDY_CLASSES.map((c) => [c, studyProbs[c]])) as Record<
        StudyClass,
        number
      >
    })
    ctx.onProgress?.({ stage: 'predict', done: out.length, total })
    // a turn of the event loop per image, so a worker reads the job's cancel message
    await new Promise((resolve) => setImmediate(resolve))
  }
  return out
}
