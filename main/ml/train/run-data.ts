// The data a training session trains on: the dataset prepared (policy, split, tensor cache), checked,
// and served as batches. A resumed run keeps the validation studies recorded in split.json.
import type { ProgressListener } from '../../../common/domain'
import { UserError } from '../../core/errors'
import { BatchLoader } from '../data/loader'
import { prepareTrainingData, type TrainingData } from '../data/prepare'
import { foldOf, type TrainConfig } from './config'
import type { DisplaySource } from '../data/tensor-cache'
import { readSplit, type OpenedRun } from './run-setup'

export interface RunData extends TrainingData {
  trainLoader: BatchLoader
  valLoader: BatchLoader
  /** The configured batch size, or fewer when there are fewer training images. */
  batchSize: number
  stepsPerEpoch: number
}

export async function loadRunData(
  run: OpenedRun,
  options: { source: DisplaySource; signal?: AbortSignal; onProgress?: ProgressListener }
): Promise<RunData> {
  const { config, saved, log } = run
  const splitOverride = saved ? await readSplit(run.runDir) : null
  const data = await prepareTrainingData(config.dataset, {
    workspace: config.workspace,
    imageSize: config.detector.imageSize,
    policy: config.policy,
    valFraction: config.valFraction,
    valMinPerClass: config.valMinPerClass ?? 0,
    fold: foldOf(config),
    seed: config.seed,
    source: options.source,
    onProgress: options.onProgress,
    signal: options.signal,
    valStudies: splitOverride?.valStudies
  })
  for (const e of data.errors) log.write(`skipped ${e.path}: ${e.reason}`)
  log.write(splitLine(config, data, Boolean(splitOverride)))
  if (data.val.length === 0) {
    log.write(
      `warning: the validation split is empty (--val-fraction ${config.valFraction} of each class rounds to 0 studies and no class has 2 studies for the floor): no metric and no best checkpoint`
    )
  }
  if (data.train.length < 2)
    throw new UserError(
      `${config.dataset}: only ${data.train.length} training image(s) after the split; need at least 2`
    )
  if (saved && saved.dataset.fingerprint.sha256 !== data.fingerprint.sha256) {
    log.write(
      `warning: the dataset changed since the run started (fingerprint ${saved.dataset.fingerprint.sha256.slice(0, 12)} -> ${data.fingerprint.sha256.slice(0, 12)})`
    )
  }
  const batchSize = Math.min(config.batchSize, data.train.length)
  const trainLoader = new BatchLoader(data.train, data.cache, {
    batchSize,
    seed: config.seed,
    augment: config.augment,
    shuffle: true
  })
  const valLoader = new BatchLoader(data.val, data.cache, {
    batchSize,
    seed: config.seed,
    augment: null,
    shuffle: false
  })
  return { ...data, trainLoader, valLoader, batchSize, stepsPerEpoch: trainLoader.stepsPerEpoch }
}

/** `split: validation studies per class negative 4/10, ...` as train.log says it. */
function splitLine(config: TrainConfig, data: TrainingData, recorded: boolean): string {
  const { train, val } = data.studiesPerClass
  const classes = Object.keys(val)
  const perClass = classes.map((c) => `${c} ${val[c]}/${val[c] + train[c]}`).join(', ')
  const fold = foldOf(config)
  const how = recorded
    ? 'as recorded in split.json'
    : fold
      ? `fold ${fold.index} of ${fold.count}, stratified by class, seed ${config.seed}`
      : `--val-fraction ${config.valFraction}, at least ${config.valMinPerClass ?? 0} per class (at most half of it), seed ${config.seed}`
  return `split: validation studies per class ${perClass || 'none'} (${how})`
}
