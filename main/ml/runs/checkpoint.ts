// Checkpoints: `checkpoints/last` and `checkpoints/best`, each a folder with the model (model.json +
// weights.bin, see detect/detector-io.ts), the optimizer state (optimizer.json + optimizer.bin) and
// checkpoint.json (trainer position and the metadata prediction needs). A checkpoint is written into
// a temporary folder and swapped in by renames, so a crash leaves the previous one whole.
import { mkdir, readFile, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { FileReadError, errorMessage } from '../../core/errors'
import { writeFileAtomic, writeJsonAtomic } from '../../core/fs-atomic'
import { tempName } from '../../core/temp-files'
import { loadDetector, type Detector } from '../detect/detector'
import { packWeights, unpackWeights, type NamedWeights, type WeightEntry } from '../model/weights'
import type { OptimizerState } from '../train/optimizer'
import {
  CHECKPOINT_FILE,
  checkpointDir,
  readCheckpointMeta,
  type CheckpointMeta,
  type CheckpointName
} from './checkpoint-meta'
import { RUN_FILES, readJson } from './run-folder'

export {
  CHECKPOINT_FILE,
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  checkpointDir,
  findCheckpoint,
  newerBestInLast,
  readCheckpointMeta,
  type CheckpointMeta,
  type CheckpointName
} from './checkpoint-meta'

const OPTIMIZER_JSON = 'optimizer.json'
const OPTIMIZER_BIN = 'optimizer.bin'
/** With a weight average, the model holds the average and these hold the raw weights training continues from. */
const TRAINING_WEIGHTS_JSON = 'training-weights.json'
const TRAINING_WEIGHTS_BIN = 'training-weights.bin'

interface OptimizerIndex {
  options: OptimizerState['options']
  params: Array<{
    name: string
    step: number
    shape: number[]
    slots: Array<{ slot: string; offset: number; length: number }>
  }>
}

function packOptimizer(state: OptimizerState): { index: OptimizerIndex; data: Uint8Array } {
  const params: OptimizerIndex['params'] = []
  let total = 0
  for (const param of Object.values(state.params))
    for (const values of Object.values(param.slots)) total += values.length
  const floats = new Float32Array(total)
  let at = 0
  for (const [name, param] of Object.entries(state.params)) {
    const slots: OptimizerIndex['params'][number]['slots'] = []
    for (const [slot, values] of Object.entries(param.slots)) {
      floats.set(values, at)
      slots.push({ slot, offset: at * 4, length: values.length })
      at += values.length
    }
    params.push({ name, step: param.step, shape: param.shape, slots })
  }
  return { index: { options: state.options, params }, data: new Uint8Array(floats.buffer) }
}

function unpackOptimizer(index: OptimizerIndex, data: Uint8Array, file: string): OptimizerState {
  const aligned = data.byteOffset % 4 === 0 ? data : data.slice()
  const floats = new Float32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4)
  const params: OptimizerState['params'] = {}
  for (const param of index.params) {
    const slots: Record<string, Float32Array> = {}
    for (const s of param.slots) {
      if (s.offset % 4 !== 0 || s.offset / 4 + s.length > floats.length)
        throw new FileReadError(file, `optimizer slot ${param.name}/${s.slot} lies outside the file`)
      slots[s.slot] = floats.slice(s.offset / 4, s.offset / 4 + s.length)
    }
    params[param.name] = { step: param.step, shape: param.shape, slots }
  }
  return { options: index.options, params }
}

/** Writes a checkpoint folder next to the target, then swaps it in. */
export async function saveCheckpoint<T>(
  runDir: string,
  name: CheckpointName,
  content: {
    detector: Detector
    optimizer: OptimizerState
    meta: CheckpointMeta<T>
    trainingWeights?: NamedWeights
  }
): Promise<string> {
  const target = checkpointDir(runDir, name)
  const parent = join(runDir, RUN_FILES.checkpoints)
  await mkdir(parent, { recursive: true })
  // named like every temp of ours, so a resume or a workspace sweep after a kill removes it
  const tmp = join(parent, tempName(name))
  try {
    await content.detector.save(tmp, {
      checkpoint: name,
      epoch: content.meta.epoch,
      globalStep: content.meta.globalStep
    })
    const { index, data } = packOptimizer(content.optimizer)
    await writeFileAtomic(join(tmp, OPTIMIZER_BIN), data)
    await writeJsonAtomic(join(tmp, OPTIMIZER_JSON), index)
    if (content.trainingWeights) {
      const packed = packWeights(content.trainingWeights)
      await writeFileAtomic(join(tmp, TRAINING_WEIGHTS_BIN), packed.data)
      await writeJsonAtomic(join(tmp, TRAINING_WEIGHTS_JSON), packed.entries)
    }
    // checkpoint.json last: a folder that has it is complete
    await writeJsonAtomic(join(tmp, CHECKPOINT_FILE), content.meta)
    const old = join(parent, tempName(name).replace(/\.tmp$/, '.old'))
    const hadPrevious = await rename(target, old).then(
      () => true,
      () => false
    )
    await rename(tmp, target)
    if (hadPrevious) await rm(old, { recursive: true, force: true })
  } catch (err) {
    await rm(tmp, { recursive: true, force: true })
    throw err
  }
  return target
}

export async function readOptimizerState(dir: string): Promise<OptimizerState> {
  const indexPath = join(dir, OPTIMIZER_JSON)
  const index = await readJson<OptimizerIndex>(indexPath, 'optimizer state index')
  const binPath = join(dir, OPTIMIZER_BIN)
  const data = await readFile(binPath).catch((err) => {
    throw new FileReadError(binPath, `cannot read the optimizer state: ${errorMessage(err)}`)
  })
  return unpackOptimizer(index, new Uint8Array(data.buffer, data.byteOffset, data.byteLength), binPath)
}

/** The raw training weights of a checkpoint written with a weight average, else null. */
export async function readTrainingWeights(dir: string): Promise<NamedWeights | null> {
  const entries = await readJson<WeightEntry[]>(
    join(dir, TRAINING_WEIGHTS_JSON),
    'training weights index'
  ).catch(() => null)
  if (!entries) return null
  const binPath = join(dir, TRAINING_WEIGHTS_BIN)
  const data = await readFile(binPath).catch((err) => {
    throw new FileReadError(binPath, `cannot read the training weights: ${errorMessage(err)}`)
  })
  try {
    return unpackWeights(entries, new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
  } catch (err) {
    throw new FileReadError(binPath, errorMessage(err))
  }
}

/** Loads a checkpoint: metadata, model and (optionally) optimizer state and raw training weights. */
export async function loadCheckpoint<T>(
  dir: string,
  options: { optimizer?: boolean; trainingWeights?: boolean } = {}
) {
  const meta = await readCheckpointMeta<T>(dir)
  const detector = await loadDetector(dir)
  try {
    const optimizer = options.optimizer ? await readOptimizerState(dir) : null
    const trainingWeights = options.trainingWeights ? await readTrainingWeights(dir) : null
    return { meta, detector, optimizer, trainingWeights }
  } catch (err) {
    detector.dispose()
    throw err
  }
}
