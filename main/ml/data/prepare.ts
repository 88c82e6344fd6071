// From a dataset folder to ready training data: open (header index + labels), apply the filter
// policy, split by study (stratified, seeded), and fill the tensor cache.
import { createHash } from 'node:crypto'
import type { Dataset, FilterPolicy, ImageLabel, StudyLabel } from '../../../common/dataset'
import { STUDY_CLASSES, type FileError, type ProgressListener, type StudyClass } from '../../../common/domain'
import { openDataset } from '../../core/dataset'
import { workspaceDecodedCacheConfig, type DecodedCacheConfig } from '../../core/dicom/decoded-cache/store'
import { splitByStudy, stratumCounts, type StratumCounts } from '../../core/export/split'
import { samplesOf, trainingImages, type ImageSample } from './samples'
import { TensorCache, type DisplaySource } from './tensor-cache'

/** Identifies the data a run saw: a hash of every kept file (path, size, mtime) and its labels. */
export interface DatasetFingerprint {
  sha256: string
  root: string
  images: number
  studies: number
  boxes: number
  policy: FilterPolicy
}

export interface TrainingData {
  dataset: Dataset
  train: ImageSample[]
  val: ImageSample[]
  trainStudies: string[]
  valStudies: string[]
  /** Studies per class (or 'unlabelled') on each side of the split, before undecodable images drop out. */
  studiesPerClass: StratumCounts
  cache: TensorCache
  fingerprint: DatasetFingerprint
  /** Study-class frequencies of the training split (for the box-majority study rule). */
  classPriors: Record<StudyClass, number>
  /** Label rows of the validation images and studies: the validation ground truth. */
  valTruth: { studies: StudyLabel[]; images: ImageLabel[] }
  /** Files that could not be decoded (left out) and dataset-level problems, for the log. */
  errors: FileError[]
}

export interface PrepareOptions {
  workspace: string
  imageSize: number
  policy: FilterPolicy
  valFraction: number
  /** The floor of validation studies per study class (core/export/split.ts valCount). */
  valMinPerClass?: number
  /** Validate on one fold of a stratified k-fold partition instead of a fraction. */
  fold?: { count: number; index: number } | null
  seed: number
  source: DisplaySource
  onProgress?: ProgressListener
  signal?: AbortSignal
  /** A resumed run keeps its recorded validation studies instead of splitting again. */
  valStudies?: string[]
}

export async function prepareTrainingData(root: string, options: PrepareOptions): Promise<TrainingData> {
  const dataset = await openDataset(root, {
    workspace: options.workspace,
    onProgress: options.onProgress,
    signal: options.signal
  })
  const kept = trainingImages(dataset, options.policy)
  const valIds = options.valStudies
    ? new Set(options.valStudies)
    : splitByStudy(kept, dataset.studies, {
        valFraction: options.valFraction,
        seed: options.seed,
        valMinPerClass: options.valMinPerClass,
        fold: options.fold ?? undefined
      }).valStudyIds
  // images missing from the tensor cache are decoded through the workspace's decoded-pixel cache, so a
  // run at another image size (or after a preprocessing change) reads them back instead of decoding
  options.source.useDecodedCache?.(await decodedCacheOf(options.workspace))
  const cache = TensorCache.forDataset(options.workspace, root, options.imageSize, options.source)
  const all = samplesOf(dataset, kept)
  const prepared = await cache.prepare(all, {
    onProgress: options.onProgress,
    signal: options.signal,
    concurrency: 3
  })
  const ready = new Set(prepared.ready)
  const train = all.filter((s) => ready.has(s) && !valIds.has(s.studyId))
  const val = all.filter((s) => ready.has(s) && valIds.has(s.studyId))

  const valImages = new Set(val.map((s) => s.imageId))
  const valTruth = {
    studies: dataset.studies.filter((s) => valIds.has(s.studyId) && s.label).map((s) => s.label!),
    images: dataset.images.filter((i) => i.label && valImages.has(i.imageId)).map((i) => i.label!)
  }
  const counts = Object.fromEntries(STUDY_CLASSES.map((c) => [c, 0])) as Record<StudyClass, number>
  for (const studyId of new Set(train.map((s) => s.studyId))) {
    const cls = train.find((s) => s.studyId === studyId)?.studyClass
    if (cls) counts[cls]++
  }
  const labelled = Object.values(counts).reduce((a, b) => a + b, 0) || 1
  const classPriors = Object.fromEntries(STUDY_CLASSES.map((c) => [c, counts[c] / labelled])) as Record<
    StudyClass,
    number
  >

  return {
    dataset,
    train,
    val,
    trainStudies: [...new Set(train.map((s) => s.studyId))].sort(),
    valStudies: [...new Set(val.map((s) => s.studyId))].sort(),
    studiesPerClass: stratumCounts(kept, dataset.studies, valIds),
    cache,
    fingerprint: fingerprintOf(dataset, all, options.policy),
    classPriors,
    valTruth,
    errors: [...dataset.fileErrors, ...prepared.errors]
  }
}

function fingerprintOf(
  dataset: Dataset,
  samples: readonly ImageSample[],
  policy: FilterPolicy
): DatasetFingerprint {
  const hash = createHash('sha256')
  for (const s of [...samples].sort((a, b) => (a.relPath < b.relPath ? -1 : 1))) {
    hash.update(
      `${s.relPath}|${s.fileSize}|${s.mtimeMs}|${s.studyClass}|${s.boxes.map((b) => [b.x, b.y, b.width, b.height].join(' ')).join(';')}\n`
    )
  }
  return {
    sha256: hash.digest('hex'),
    root: dataset.root,
    images: samples.length,
    studies: new Set(samples.map((s) => s.studyId)).size,
    boxes: samples.reduce((n, s) => n + s.boxes.length, 0),
    policy
  }
}

/**
 * The workspace's decoded-pixel cache; none when its settings file is unreadable: training goes on
 * uncached (the viewer's back end says why in its log).
 */
async function decodedCacheOf(workspace: string): Promise<DecodedCacheConfig | null> {
  return workspaceDecodedCacheConfig(workspace).catch(() => null)
}
