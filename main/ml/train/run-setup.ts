// The start of a training session: the configuration (resolved for a new run, read back for a resumed
// one), the run's log and its backend. A new run needs an empty --out; the folder is written only once
// the data and the model are ready (recordNewRun), so a refused dataset leaves nothing behind.
import { join } from 'node:path'
import { UserError } from '../../core/errors'
import { writeJsonAtomic } from '../../core/fs-atomic'
import { assertOutputAllowed, datasetSource } from '../../core/write-target'
import { initBackend, type BackendInfo } from '../backend/ladder'
import type { TrainingData } from '../data/prepare'
import type { Detector } from '../detect/detector'
import { findCheckpoint, readCheckpointMeta } from '../runs/checkpoint'
import { leftoversLine, removeRunLeftovers } from '../runs/leftovers'
import {
  RUN_FILES,
  RunLog,
  isEmptyFolder,
  readJson,
  readRunConfig,
  writeRunConfig,
  type RunSplit
} from '../runs/run-folder'
import { foldOf, resolveTrainConfig, resumeConfig, type TrainArgs, type TrainConfig } from './config'
import { runConfigFile, type RunConfigFile, type TrainerState } from './run-record'

export interface OpenedRun {
  runDir: string
  config: TrainConfig
  /** config.json of the run being resumed; null for a new run (it writes its own in recordNewRun). */
  saved: RunConfigFile | null
  /** The checkpoint a resumed run continues from. */
  resumeFrom: string | null
  /** Epochs the run completed before this session. */
  epochsDone: number
  log: RunLog
}

/**
 * Checks that `args.out` can take a new run, or holds one to resume, and opens its log; `onLogLine`
 * hears every line this session writes to it.
 */
export async function openRun(args: TrainArgs, onLogLine?: (line: string) => void): Promise<OpenedRun> {
  const runDir = args.out
  let config: TrainConfig
  let saved: RunConfigFile | null = null
  let resumeFrom: string | null = null
  let epochsDone = 0
  let leftovers: string | null = null
  await assertOutputAllowed(runDir, [datasetSource(args.dataset)], 'folder')
  if (args.resume) {
    saved = await readRunConfig<RunConfigFile>(runDir)
    leftovers = leftoversLine(await removeRunLeftovers(runDir))
    resumeFrom = await findCheckpoint(runDir, 'last')
    if (!resumeFrom)
      throw new UserError(`${runDir}: nothing to resume (no checkpoints/last); start a new run instead`)
    config = resumeConfig(saved.train, args)
    epochsDone = (await readCheckpointMeta<TrainerState>(resumeFrom)).trainer.history.length
  } else {
    if (!(await isEmptyFolder(runDir))) {
      throw new UserError(
        `${runDir}: the folder is not empty; pass --resume to continue the run in it, or choose another --out`
      )
    }
    config = resolveTrainConfig(args)
  }
  const log = await RunLog.open(runDir, onLogLine)
  log.write(args.resume ? `resuming from ${resumeFrom}` : `new run in ${runDir}`)
  if (leftovers) log.write(leftovers)
  return { runDir, config, saved, resumeFrom, epochsDone, log }
}

/** Starts the configured backend and logs what it is and which faster ones were not usable. */
export async function initRunBackend(config: TrainConfig, log: RunLog): Promise<BackendInfo> {
  const backend = await initBackend(config.backend)
  log.write(
    `backend ${backend.name} on ${backend.device} (tfjs ${backend.tfjsVersion}, ${backend.package} ${backend.backendVersion})`
  )
  for (const f of backend.fallbacks) log.write(`  not used: ${f.backend}: ${f.reason}`)
  return backend
}

/** The recorded split of a resumed run (null: none recorded, split again). */
export async function readSplit(runDir: string): Promise<RunSplit | null> {
  return readJson<RunSplit>(join(runDir, RUN_FILES.split), 'the run split').catch(() => null)
}

/** Creates a new run's folder: config.json, then split.json. */
export async function recordNewRun(
  run: OpenedRun,
  detector: Detector,
  backend: BackendInfo,
  data: TrainingData,
  stepsPerEpoch: number
): Promise<RunConfigFile> {
  const { config, runDir } = run
  const runConfig = runConfigFile(config, detector, backend, data, stepsPerEpoch)
  await writeRunConfig(runDir, runConfig)
  const split: RunSplit = {
    seed: config.seed,
    valFraction: config.valFraction,
    valMinPerClass: config.valMinPerClass ?? 0,
    fold: foldOf(config),
    studiesPerClass: data.studiesPerClass,
    trainStudies: data.trainStudies,
    valStudies: data.valStudies
  }
  await writeJsonAtomic(join(runDir, RUN_FILES.split), split)
  return runConfig
}
