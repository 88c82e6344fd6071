// Prediction with a trained run: load a checkpoint, prepare the folder's images exactly as in
// training, predict in batches, aggregate studies. Shared by `predict`, `submit` and `evaluate`.
import type { Dataset, DatasetImage } from '../../../common/dataset'
import type { FileError, Progress } from '../../../common/domain'
import { UserError, errorMessage } from '../../core/errors'
import { openDataset } from '../../core/dataset'
import { initBackend, type BackendChoice, type BackendInfo } from '../backend/ladder'
import { openDisplaySource } from '../data/display-source'
import { BatchLoader } from '../data/loader'
import { samplesOf, type ImageSample } from '../data/samples'
import { TensorCache, type DisplaySource } from '../data/tensor-cache'
import type { Detector } from '../detect/detector'
import { isEnsembleConfig, readEnsembleConfig } from '../ensemble/config'
import { predictEnsemble, type EnsembleDescription } from '../ensemble/predict'
import { isImportedRun } from '../imported/model-config'
import { predictImportedRun, type ImportedModelDescription } from '../imported/predict'
import { findCheckpoint, loadCheckpoint, type CheckpointMeta, type CheckpointName } from '../runs/checkpoint'
import { readRunConfig } from '../runs/run-folder'
import {
  OnnxDetectorSession,
  chooseRuntime,
  type InferenceRuntimeInfo,
  type RuntimeChoice,
  type RuntimeFallback
} from '../onnx/runtime'
import type { RunConfigFile, TrainerState } from '../train/trainer'
import {
  DEFAULT_PREDICTION,
  predictSamples,
  type ImagePredictionRecord,
  type PredictionSettings
} from './predict-images'
import { effectiveStudyMode, readStudyFusion } from './study-fusion-file'
import { studyPredictions, type StudyPredictionRecord, type StudyPriors } from './study-level'

export type SplitChoice = 'auto' | 'test' | 'train' | 'all'

export interface PredictOptions {
  run: string
  /** A folder of DICOMs (Kaggle layout or any). */
  dicomDir: string
  workspace: string
  checkpoint?: CheckpointName
  backend?: BackendChoice
  /** `auto` (default): ONNX Runtime when it loads, else tfjs; `onnx` insists; `tfjs` never tries it. */
  runtime?: RuntimeChoice
  batchSize?: number
  /** `auto`: the test split when the folder has one, else every image. */
  split?: SplitChoice
  /** Only these images (e.g. those with ground truth), after the split. */
  imageIds?: readonly string[]
  settings?: Partial<PredictionSettings>
}

export interface PredictContext {
  signal?: AbortSignal
  onProgress?: (progress: Progress) => void
  source?: DisplaySource
}

export interface PredictionSet {
  run: string
  checkpoint: { dir: string; name: CheckpointName; epoch: number; globalStep: number }
  dataset: Dataset
  /** The images predicted (after split and filters), in dataset order. */
  selected: ImageSample[]
  images: ImagePredictionRecord[]
  studies: StudyPredictionRecord[]
  settings: PredictionSettings
  /** The tfjs backend (it holds the weights, and runs inference when ONNX Runtime does not). */
  backend: BackendInfo
  /** What ran inference, and why a faster runtime did not. */
  runtime: InferenceRuntimeInfo
  /** Files that could not be read or decoded; their ids still get default rows in a submission. */
  errors: FileError[]
  /** Study-class frequencies of the run's training split. */
  priors: StudyPriors
  /** Why the study rows come from another mode than the one asked for (a run without study-fusion.json). */
  studyFromNote?: string | null
  /** An ensemble's members and fusion (the boxes above are fused). */
  ensemble?: EnsembleDescription
  /** An imported run's ONNX model (format, source file), in place of a trained checkpoint. */
  model?: ImportedModelDescription
}

/** The checkpoint to predict with: `best` when the run has one (unless `last` is asked for). */
export async function resolveCheckpoint(
  run: string,
  wanted?: CheckpointName
): Promise<{ dir: string; name: CheckpointName }> {
  await readRunConfig<RunConfigFile>(run)
  for (const name of wanted ? [wanted] : (['best', 'last'] as const)) {
    const dir = await findCheckpoint(run, name)
    if (dir) return { dir, name }
  }
  throw new UserError(
    `${run}: no ${wanted ?? 'best or last'} checkpoint yet (train at least one epoch, or until a cancel)`
  )
}

/** The folder opened and the images to predict: the split, then the asked-for ids; none is an error. */
export async function openImagesToPredict(
  options: PredictOptions,
  ctx: PredictContext
): Promise<{ dataset: Dataset; images: DatasetImage[] }> {
  const dataset = await openDataset(options.dicomDir, {
    workspace: options.workspace,
    onProgress: ctx.onProgress,
    signal: ctx.signal
  })
  let images = selectImages(dataset, options.split ?? 'auto')
  if (options.imageIds) {
    const wanted = new Set(options.imageIds)
    images = images.filter((i) => wanted.has(i.imageId))
  }
  if (images.length === 0)
    throw new UserError(
      `${options.dicomDir}: no readable DICOM image to predict (${dataset.fileErrors.length} file error(s))`
    )
  return { dataset, images }
}

/** The images a prediction covers: `auto` picks the test split when present, else all. */
export function selectImages(dataset: Dataset, split: SplitChoice): DatasetImage[] {
  const hasTest = dataset.images.some((i) => i.split === 'test' && i.record)
  const which = split === 'auto' ? (hasTest ? 'test' : 'all') : split
  return dataset.images.filter((i) => i.record && (which === 'all' || i.split === which))
}

export async function runPrediction(
  options: PredictOptions,
  ctx: PredictContext = {}
): Promise<PredictionSet> {
  const config = await readRunConfig<RunConfigFile>(options.run)
  // read before the minutes of prediction: an explicit mode the run cannot serve fails here
  const fusion = await readStudyFusion(options.run)
  effectiveStudyMode(options.run, options.settings?.studyFrom ?? 'combined', true, fusion)
  // an ensemble predicts with each member through this same function, then fuses (ensemble/predict.ts)
  if (isEnsembleConfig(config))
    return predictEnsemble(options.run, await readEnsembleConfig(options.run), options, ctx, runPrediction)
  // an imported ONNX model (imported/predict.ts) stands where the checkpoint would be loaded
  if (isImportedRun(config)) return predictImportedRun(options, ctx, config)
  const checkpoint = await resolveCheckpoint(options.run, options.checkpoint)
  const backend = await initBackend(options.backend ?? config.train.backend ?? 'auto')
  const runtimeChoice = options.runtime ?? 'auto'
  const chosen = await chooseRuntime(runtimeChoice)
  const { dataset, images } = await openImagesToPredict(options, ctx)

  let detector: Detector | null = null
  let onnx: OnnxDetectorSession | null = null
  let meta: CheckpointMeta<TrainerState>
  const ownSource = ctx.source ? null : openDisplaySource()
  try {
    const loaded = await loadCheckpoint<TrainerState>(checkpoint.dir)
    detector = loaded.detector
    meta = loaded.meta
    onnx = chosen.ort ? await openOnnx(chosen.ort, detector, runtimeChoice, chosen.fallbacks) : null
    const runtime = onnx?.info ?? tfjsRuntime(backend, chosen.fallbacks)
    const imageSize = detector.config.imageSize
    const cache = TensorCache.forDataset(
      options.workspace,
      options.dicomDir,
      imageSize,
      ctx.source ?? ownSource!
    )
    const all = samplesOf(dataset, images)
    const prepared = await cache.prepare(all, {
      onProgress: ctx.onProgress,
      signal: ctx.signal,
      concurrency: 3
    })
    // the run's own default (recorded when it was trained), else today's
    const asked: PredictionSettings = {
      ...DEFAULT_PREDICTION,
      ...(config.studyFrom ? { studyFrom: config.studyFrom } : {}),
      ...options.settings
    }
    const study = effectiveStudyMode(
      options.run,
      asked.studyFrom,
      Boolean(options.settings?.studyFrom),
      fusion
    )
    const settings: PredictionSettings = { ...asked, studyFrom: study.mode }
    const loader = new BatchLoader(prepared.ready, cache, {
      batchSize: options.batchSize ?? 8,
      seed: 0,
      augment: null,
      shuffle: false
    })
    const predicted = await predictSamples(detector, loader, settings, {
      signal: ctx.signal,
      onProgress: ctx.onProgress,
      onnx
    })
    const priors = (config.classPriors ?? {}) as StudyPriors
    return {
      run: options.run,
      checkpoint: {
        dir: checkpoint.dir,
        name: checkpoint.name,
        epoch: meta.epoch,
        globalStep: meta.globalStep
      },
      dataset,
      selected: all,
      images: predicted,
      studies: studyPredictions(predicted, settings.studyFrom, priors, fusion?.models ?? null),
      settings,
      studyFromNote: study.note,
      backend,
      runtime,
      errors: [...dataset.fileErrors, ...prepared.errors],
      priors
    }
  } finally {
    await onnx?.close()
    detector?.dispose()
    await ownSource?.close()
  }
}

/** True when two paths name the same folder (the run's own dataset vs the one given). */

/**
 * The detector on ONNX Runtime. With `auto`, a graph ONNX Runtime refuses (a bug, or a provider
 * failing at run time) falls back to tfjs with the reason recorded; with `onnx` it is the error.
 */
async function openOnnx(
  ort: NonNullable<Awaited<ReturnType<typeof chooseRuntime>>['ort']>,
  detector: Detector,
  choice: RuntimeChoice,
  fallbacks: RuntimeFallback[]
): Promise<OnnxDetectorSession | null> {
  try {
    return await OnnxDetectorSession.open(ort, detector, { fallbacks })
  } catch (err) {
    if (choice === 'onnx')
      throw new UserError(`--runtime onnx: ONNX Runtime could not open the model (${errorMessage(err)})`)
    fallbacks.push({
      runtime: 'onnxruntime',
      reason: `could not open the exported model: ${errorMessage(err)}`
    })
    return null
  }
}

function tfjsRuntime(backend: BackendInfo, fallbacks: RuntimeFallback[]): InferenceRuntimeInfo {
  return {
    name: 'tfjs',
    version: backend.tfjsVersion,
    device: backend.device,
    executionProvider: backend.name,
    threads: backend.threads,
    fallbacks
  }
}
