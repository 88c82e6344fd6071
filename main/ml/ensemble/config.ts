// An ensemble is a run folder too: config.json (kind `ensemble`) lists member runs (trained or
// imported, or other ensembles), the checkpoint each predicts with, its weight, and the fusion
// parameters; split.json holds the validation studies no member trained on. Predicting with it runs
// every member and fuses their predictions (predict.ts); nothing else is stored.
import { mkdir, realpath, rm, stat } from 'node:fs/promises'
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path'
import type { FilterPolicy } from '../../../common/dataset'
import { UserError, errorMessage } from '../../core/errors'
import { writeJsonAtomic } from '../../core/fs-atomic'
import { findCheckpoint, type CheckpointName } from '../runs/checkpoint-meta'
import {
  RUN_FILES,
  RUN_FORMAT,
  RUN_FORMAT_VERSION,
  isEmptyFolder,
  readJson,
  readRunConfig,
  writeRunConfig,
  type RunHeader,
  type RunSplit
} from '../runs/run-folder'

export const ENSEMBLE_KIND = 'ensemble'

/** ZFTurbo's ensemble-boxes default IoU for WBF. */
export const DEFAULT_ENSEMBLE_IOU = 0.55
export const DEFAULT_SKIP_BOX_THRESHOLD = 0

export interface EnsembleMember {
  /** The member's folder name, for progress and the Runs view. */
  name: string
  /** Relative to the ensemble's folder (tried first: the two can move together)… */
  path: string
  /** …and absolute, as it was when the ensemble was made. */
  absolutePath: string
  /** `trained`, `imported` or `ensemble` when the ensemble was made. */
  kind: string
  /** The member's checkpoint (trained runs); null: best, else last (or the prediction's --checkpoint). */
  checkpoint: CheckpointName | null
  weight: number
}

export interface EnsembleFusion {
  method: 'wbf'
  /** Same-class boxes of different members overlapping more than this are fused. */
  iouThreshold: number
  /** Member boxes below this confidence are ignored before fusion. */
  skipBoxThreshold: number
  /** How a fused box is scored (ensemble-boxes' conf_type). */
  confidence: 'avg'
}

export interface EnsembleConfigFile extends RunHeader {
  kind: typeof ENSEMBLE_KIND
  createdAt: string
  name: string
  members: EnsembleMember[]
  fusion: EnsembleFusion
  /**
   * The dataset the first trained member learned from, and its policy: `evaluate` and the
   * Evaluation view score the ensemble's own dataset on split.json's validation studies.
   */
  train: { dataset: string; policy: FilterPolicy }
}

export interface EnsembleMemberRequest {
  run: string
  checkpoint?: CheckpointName
  weight?: number
}

export interface CreateEnsembleOptions {
  out: string
  members: readonly EnsembleMemberRequest[]
  iouThreshold?: number
  skipBoxThreshold?: number
}

/** The run's config.json kind: `ensemble`, `imported`, or `trained` (a config without a kind). */
export function runKind(config: unknown): string {
  const kind = (config as { kind?: unknown } | null)?.kind
  return typeof kind === 'string' ? kind : 'trained'
}

export function isEnsembleConfig(config: unknown): config is EnsembleConfigFile {
  return runKind(config) === ENSEMBLE_KIND
}

/** A member's folder: relative to the ensemble first, else the absolute path recorded. */
export async function memberFolder(ensembleDir: string, member: EnsembleMember): Promise<string> {
  const near = resolve(ensembleDir, member.path)
  if (await isFolder(near)) return near
  if (await isFolder(member.absolutePath)) return member.absolutePath
  throw new UserError(
    `${join(ensembleDir, RUN_FILES.config)}: member ${member.name} is missing (neither ${near} nor ${member.absolutePath})`
  )
}

/** Reads an ensemble's config.json, checking what predicting with it relies on. */
export async function readEnsembleConfig(dir: string): Promise<EnsembleConfigFile> {
  const config = await readRunConfig<EnsembleConfigFile>(dir)
  const file = join(dir, RUN_FILES.config)
  if (!isEnsembleConfig(config)) throw new UserError(`${file}: not an ensemble`)
  if (!Array.isArray(config.members) || config.members.length < 2)
    throw new UserError(`${file}: an ensemble needs at least two members`)
  for (const m of config.members)
    if (typeof m?.path !== 'string' || !(m.weight > 0))
      throw new UserError(`${file}: a member needs a path and a positive weight`)
  if (!(config.fusion?.iouThreshold > 0 && config.fusion.iouThreshold <= 1))
    throw new UserError(`${file}: fusion.iouThreshold must be in (0, 1]`)
  return config
}

/**
 * Makes an ensemble run folder after checking that every member is a run that can predict (a
 * trained run with the checkpoint asked for, an imported run, or an ensemble), that the weights are
 * positive, and that no member is, or contains, the ensemble itself.
 */
export async function createEnsemble(options: CreateEnsembleOptions): Promise<EnsembleConfigFile> {
  const out = resolve(options.out)
  if (options.members.length < 2) throw new UserError('an ensemble needs at least two member runs')
  const iouThreshold = options.iouThreshold ?? DEFAULT_ENSEMBLE_IOU
  if (!(iouThreshold > 0 && iouThreshold <= 1))
    throw new UserError(`--iou ${iouThreshold}: must be in (0, 1]`)
  const skipBoxThreshold = options.skipBoxThreshold ?? DEFAULT_SKIP_BOX_THRESHOLD
  if (!(skipBoxThreshold >= 0 && skipBoxThreshold < 1))
    throw new UserError(`--skip-box-thr ${skipBoxThreshold}: must be in [0, 1)`)
  if (!(await isEmptyFolder(out))) throw new UserError(`${out}: exists and is not empty; choose a new folder`)
  const outReal = await realParent(out)

  const members: EnsembleMember[] = []
  for (const request of options.members) {
    const dir = resolve(request.run)
    const weight = request.weight ?? 1
    if (!(weight > 0) || !Number.isFinite(weight))
      throw new UserError(`${dir}: weight ${weight} must be a positive number`)
    const kind = await assertPredictable(dir, request.checkpoint, outReal, [])
    members.push({
      name: basename(dir),
      path: relative(out, dir) || '.',
      absolutePath: dir,
      kind,
      checkpoint: request.checkpoint ?? null,
      weight
    })
  }
  const trained = await trainedOn(members.map((m) => m.absolutePath))
  const config: EnsembleConfigFile = {
    format: RUN_FORMAT,
    formatVersion: RUN_FORMAT_VERSION,
    kind: ENSEMBLE_KIND,
    createdAt: new Date().toISOString(),
    name: basename(out),
    members,
    fusion: { method: 'wbf', iouThreshold, skipBoxThreshold, confidence: 'avg' },
    train: trained.train
  }
  await mkdir(out, { recursive: true })
  try {
    await writeJsonAtomic(join(out, RUN_FILES.split), trained.split)
    // config.json last: a folder without it is not a run (the Runs view ignores it)
    await writeRunConfig(out, config)
  } catch (err) {
    await rm(out, { recursive: true, force: true }).catch(() => {})
    throw new UserError(`${out}: cannot write the ensemble: ${errorMessage(err)}`)
  }
  return config
}

/**
 * Throws when an ensemble contains itself through its members (a hand-edited config.json): predicting
 * it would never end.
 */
export async function assertNoCycle(dir: string, chain: string[] = []): Promise<void> {
  const real = await realpath(dir).catch(() => dir)
  if (chain.includes(real))
    throw new UserError(`${dir}: ensembles contain each other (${[...chain, real].join(' → ')})`)
  const config = await readRunConfig<RunHeader>(dir)
  if (!isEnsembleConfig(config)) return
  const ensemble = await readEnsembleConfig(dir)
  for (const member of ensemble.members)
    await assertNoCycle(await memberFolder(dir, member), [...chain, real])
}

/** Throws unless `dir` can predict: a trained run with a checkpoint, an imported run, or an ensemble of such. */
async function assertPredictable(
  dir: string,
  checkpoint: CheckpointName | undefined,
  ensembleReal: string,
  chain: string[]
): Promise<string> {
  const real = await realpath(dir).catch(() => dir)
  if (real === ensembleReal) throw new UserError(`${dir}: an ensemble cannot contain itself`)
  if (chain.includes(real)) throw new UserError(`${dir}: ensembles contain each other (${chain.join(' → ')})`)
  const config = await readRunConfig<RunHeader>(dir)
  const kind = runKind(config)
  if (kind === ENSEMBLE_KIND) {
    if (checkpoint) throw new UserError(`${dir}: an ensemble has no checkpoint to choose (${checkpoint})`)
    const nested = await readEnsembleConfig(dir)
    for (const member of nested.members)
      await assertPredictable(await memberFolder(dir, member), member.checkpoint ?? undefined, ensembleReal, [
        ...chain,
        real
      ])
    return kind
  }
  if (kind !== 'trained') {
    // an imported model predicts from the files its import checked; it has no checkpoints to choose
    if (checkpoint) throw new UserError(`${dir}: an ${kind} run has no ${checkpoint} checkpoint to choose`)
    return kind
  }
  for (const name of checkpoint ? [checkpoint] : (['best', 'last'] as const))
    if (await findCheckpoint(dir, name)) return kind
  throw new UserError(`${dir}: no ${checkpoint ?? 'best or last'} checkpoint yet (train at least one epoch)`)
}

interface TrainedRunFacts {
  dir: string
  dataset: string
  policy: FilterPolicy
}

/** The trained runs under `dirs` (ensembles opened), with the dataset each learned from. */
async function trainedRuns(dirs: readonly string[]): Promise<TrainedRunFacts[]> {
  const out: TrainedRunFacts[] = []
  for (const dir of dirs) {
    const config = await readRunConfig<RunHeader & { train?: { dataset?: string; policy?: FilterPolicy } }>(
      dir
    )
    if (isEnsembleConfig(config)) {
      const nested = await readEnsembleConfig(dir)
      out.push(...(await trainedRuns(await Promise.all(nested.members.map((m) => memberFolder(dir, m))))))
    } else if (runKind(config) === 'trained' && config.train?.dataset) {
      out.push({ dir, dataset: config.train.dataset, policy: config.train.policy ?? 'keep-all' })
    }
  }
  return out
}

/**
 * The ensemble's "own dataset" (the first trained member's) and its validation studies: those in
 * the validation split of every member trained on that folder, so no member saw them.
 */
async function trainedOn(
  dirs: readonly string[]
): Promise<{ train: EnsembleConfigFile['train']; split: RunSplit }> {
  const runs = await trainedRuns(dirs)
  if (runs.length === 0)
    return {
      train: { dataset: '', policy: 'keep-all' },
      split: { seed: 0, valFraction: 0, trainStudies: [], valStudies: [] }
    }
  const first = runs[0]
  const firstReal = await realpath(first.dataset).catch(() => first.dataset)
  let val: Set<string> | null = null
  const train = new Set<string>()
  for (const run of runs) {
    if ((await realpath(run.dataset).catch(() => run.dataset)) !== firstReal) continue
    const split = await readJson<RunSplit>(join(run.dir, RUN_FILES.split), 'the run split')
    split.trainStudies.forEach((s) => train.add(s))
    val = val ? new Set(split.valStudies.filter((s) => val!.has(s))) : new Set(split.valStudies)
  }
  const valStudies = [...(val ?? [])].filter((s) => !train.has(s)).sort()
  return {
    train: { dataset: first.dataset, policy: first.policy },
    split: { seed: 0, valFraction: 0, trainStudies: [...train].sort(), valStudies }
  }
}

async function isFolder(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isDirectory() ?? false
}

/** The real path a folder that may not exist yet will have. */
async function realParent(path: string): Promise<string> {
  const parent = await realpath(dirname(path)).catch(() => dirname(path))
  return isAbsolute(parent) ? join(parent, basename(path)) : path
}
