// Where a run's checkpoints are and what their checkpoint.json says, without loading tfjs: the
// back end lists runs and the CLI starts with this; checkpoint.ts saves and loads the tensors.
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { UserError } from '../../core/errors'
import { RUN_FILES, readJson } from './run-folder'

export const CHECKPOINT_FORMAT = 'cxr-studio-checkpoint'
export const CHECKPOINT_VERSION = 1
export const CHECKPOINT_FILE = 'checkpoint.json'

export type CheckpointName = 'last' | 'best'

/** checkpoint.json: everything but the tensors. `T` is the trainer's state type. */
export interface CheckpointMeta<T = unknown> {
  format: typeof CHECKPOINT_FORMAT
  formatVersion: number
  appVersion: string
  savedAt: string
  /** 0-based epoch in progress (stepInEpoch > 0) or next to run, and optimizer steps so far. */
  epoch: number
  stepInEpoch: number
  globalStep: number
  classes: string[]
  studyClasses: string[]
  inputSize: number
  head: string
  backbone: string
  preprocessing: Record<string, unknown>
  trainer: T
}

export function checkpointDir(runDir: string, name: CheckpointName): string {
  return join(runDir, RUN_FILES.checkpoints, name)
}

/**
 * The folder of a checkpoint. If a crash hit between the two renames of a save, the previous
 * checkpoint still sits in `.<name>.*.old` and is used. `best` is last's folder when last holds a
 * newer best (see newerBestInLast).
 */
export async function findCheckpoint(runDir: string, name: CheckpointName): Promise<string | null> {
  if (name === 'best') {
    const newer = await newerBestInLast(runDir)
    if (newer) return newer.lastDir
  }
  return savedCheckpoint(runDir, name)
}

/** What a checkpoint's trainer state says about the best epoch (1-based), whatever the trainer's type. */
interface BestOf {
  best?: { epoch: number } | null
}

/**
 * The end of an epoch saves last, then best (when the epoch improved). A stop between the two
 * leaves last holding the weights of the epoch it names as best while best holds an older epoch,
 * or nothing: then last's folder is the run's best. Null when best is what last says it is.
 */
export async function newerBestInLast(
  runDir: string
): Promise<{ lastDir: string; epoch: number; bestHeld: number | null } | null> {
  const lastDir = await savedCheckpoint(runDir, 'last')
  const last = lastDir && (await readCheckpointMeta<BestOf>(lastDir).catch(() => null))
  const epoch = last ? last.trainer?.best?.epoch : undefined
  // last is the best's own save only when it was written at the end of that epoch
  if (!lastDir || !last || epoch === undefined || last.stepInEpoch !== 0 || last.epoch !== epoch) return null
  const bestDir = await savedCheckpoint(runDir, 'best')
  const best = bestDir && (await readCheckpointMeta(bestDir).catch(() => null))
  const bestHeld = best ? best.epoch : null
  return bestHeld !== null && bestHeld >= epoch ? null : { lastDir, epoch, bestHeld }
}

async function savedCheckpoint(runDir: string, name: CheckpointName): Promise<string | null> {
  const target = checkpointDir(runDir, name)
  if (await stat(join(target, CHECKPOINT_FILE)).catch(() => null)) return target
  const parent = join(runDir, RUN_FILES.checkpoints)
  const olds = (await readdir(parent).catch(() => [] as string[])).filter(
    (f) => f.startsWith(`.${name}.`) && f.endsWith('.old')
  )
  for (const old of olds)
    if (await stat(join(parent, old, CHECKPOINT_FILE)).catch(() => null)) return join(parent, old)
  return null
}

export async function readCheckpointMeta<T>(dir: string): Promise<CheckpointMeta<T>> {
  const path = join(dir, CHECKPOINT_FILE)
  const meta = await readJson<CheckpointMeta<T>>(path, 'checkpoint metadata')
  if (meta.format !== CHECKPOINT_FORMAT)
    throw new UserError(`${path}: not a CXR Studio checkpoint (format ${JSON.stringify(meta.format)})`)
  if (meta.formatVersion !== CHECKPOINT_VERSION) {
    throw new UserError(
      `${path}: checkpoint format version ${meta.formatVersion} is not supported; this CXR Studio reads version ${CHECKPOINT_VERSION}`
    )
  }
  return meta
}
