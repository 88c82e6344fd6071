// Reading a run folder as the Runs view shows it: what state it is in now, its best score, its
// curves, the tail of its log. Only files are read (config.json, status.json, checkpoints/last's
// checkpoint.json, the TensorBoard event file, train.log, samples.json), so a run written by the CLI
// or by another CXR Studio reads the same as one this back end trains.
import { createHash } from 'node:crypto'
import { realpathSync } from 'node:fs'
import { readFile, readdir } from 'node:fs/promises'
import { hostname } from 'node:os'
import { basename, dirname, join, resolve } from 'node:path'
import {
  SamplesEvent,
  type EpochRecord,
  type JobInfo,
  type RunDetail,
  type RunState,
  type RunStatusFile,
  type RunSummary,
  type StepSeries
} from '../../../common/contract'
import { errorMessage } from '../../core/errors'
import { findCheckpoint, readCheckpointMeta } from '../../ml/runs/checkpoint-meta'
import { isImportedRun } from '../../ml/imported/model-config'
import { RUN_FILES, readRunConfig } from '../../ml/runs/run-folder'
import { readRunStatus } from '../../ml/runs/run-status'
import { isEnsembleConfig, memberFolder, type EnsembleConfigFile } from '../../ml/ensemble/config'
import { readIntactScalars } from '../../ml/runs/tfevents'
import type { RunConfigFile, TrainerState } from '../../ml/train/run-record'

/** Points per step series sent to a chart: smooth to draw, and the run's files keep every step. */
export const MAX_STEP_POINTS = 2000
const LOG_TAIL_LINES = 200

/** A run's key: sha1 of its real path (the parent resolved, so a folder not created yet has one too). */
export function runIdOf(runDir: string): string {
  const absolute = resolve(runDir)
  let parent = dirname(absolute)
  try {
    parent = realpathSync(parent)
  } catch {
    // the parent does not exist yet: the path as given
  }
  return createHash('sha1')
    .update(join(parent, basename(absolute)))
    .digest('hex')
    .slice(0, 16)
}

interface RunFiles {
  config: RunConfigFile | null
  status: RunStatusFile | null
  trainer: TrainerState | null
  error: string | null
}

async function readRunFiles(runDir: string): Promise<RunFiles> {
  let config: RunConfigFile | null = null
  let error: string | null = null
  try {
    config = await readRunConfig<RunConfigFile>(runDir)
  } catch (err) {
    error = errorMessage(err)
  }
  const status = await readRunStatus(runDir)
  let trainer: TrainerState | null = null
  const last = await findCheckpoint(runDir, 'last')
  if (last) {
    trainer = await readCheckpointMeta<TrainerState>(last).then(
      (meta) => meta.trainer,
      (err) => {
        error ??= errorMessage(err)
        return null
      }
    )
  }
  return { config, status, trainer, error }
}

/** True when the process that wrote `status` still runs (on another machine: assumed so). */
function writerAlive(status: RunStatusFile): boolean {
  if (status.hostname !== hostname()) return true
  try {
    process.kill(status.pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function live(job: JobInfo | undefined): boolean {
  return job?.state === 'running' || job?.state === 'queued'
}

function stateOf(files: RunFiles, job: JobInfo | undefined): RunState {
  // an ensemble has nothing to train: it is ready when made
  if (isEnsembleConfig(files.config)) return 'completed'
  if (job?.state === 'queued') return 'queued'
  if (job?.state === 'running') return 'running'
  if (job?.state === 'failed') return 'failed'
  const { status, trainer } = files
  if (status) return status.state === 'running' && !writerAlive(status) ? 'interrupted' : status.state
  if (trainer) return trainer.status === 'running' ? 'interrupted' : trainer.status
  return files.config ? 'unknown' : 'failed'
}

export async function summarizeRun(
  runDir: string,
  source: RunSummary['source'],
  job: JobInfo | undefined
): Promise<RunSummary> {
  const files = await readRunFiles(runDir)
  const { config, status, trainer } = files
  const history = trainer?.history ?? []
  const train = config?.train
  const imported = config && isImportedRun(config) ? config : null
  return {
    runId: runIdOf(runDir),
    path: runDir,
    name: basename(runDir),
    state: imported ? 'completed' : stateOf(files, job),
    jobId: live(job) ? job!.jobId : null,
    source,
    createdAt: config?.createdAt ?? status?.startedAt ?? null,
    updatedAt: status?.updatedAt ?? null,
    dataset: train ? { root: train.dataset, name: basename(train.dataset) } : null,
    // an imported run (main/ml/imported) has no detector config, training or backend of its own
    model: config?.detector
      ? {
          head: config.detector.head,
          backbone: config.detector.backbone,
          imageSize: config.detector.imageSize,
          parameters: config.parameters.total
        }
      : null,
    backend: config?.backend ? `${config.backend.name} on ${config.backend.device}` : imported ? 'ONNX Runtime' : null,
    imported: imported
      ? {
          format: imported.model.format,
          source: imported.model.source.file,
          sha256: imported.model.source.sha256,
          inputSize: imported.model.inputSize
        }
      : null,
    epochs: Math.max(history.length, status?.epochs ?? 0),
    // the latest session's plan (a resume may add epochs), else the run's first
    epochsPlanned:
      status?.epochsPlanned !== undefined
        ? status.epochsPlanned
        : train && train.timeLimitMinutes === null
          ? train.epochs
          : null,
    timeLimitMinutes:
      status?.timeLimitMinutes !== undefined ? status.timeLimitMinutes : (train?.timeLimitMinutes ?? null),
    best: trainer?.best ?? null,
    fold:
      train?.folds && train.fold !== null && train.fold !== undefined
        ? { index: train.fold, count: train.folds }
        : null,
    durationSeconds: trainer ? trainer.elapsedMs / 1000 : (history.at(-1)?.elapsed ?? null),
    // a queued run has no folder yet: nothing is wrong with it
    error: job?.error ?? status?.error ?? (live(job) ? null : files.error),
    ensemble: isEnsembleConfig(config) ? await ensembleInfo(runDir, config) : null
  }
}

/** What the Runs view shows of an ensemble: its members (found or missing) and the fusion. */
async function ensembleInfo(
  runDir: string,
  config: EnsembleConfigFile
): Promise<NonNullable<RunSummary['ensemble']>> {
  const members = await Promise.all(
    (config.members ?? []).map(async (member) => {
      const path = await memberFolder(runDir, member).catch(() => null)
      return {
        name: member.name,
        path: path ?? member.absolutePath,
        weight: member.weight,
        checkpoint: member.checkpoint,
        missing: path === null
      }
    })
  )
  return {
    members,
    iouThreshold: config.fusion?.iouThreshold ?? 0,
    skipBoxThreshold: config.fusion?.skipBoxThreshold ?? 0
  }
}

export async function readRunDetail(
  runDir: string,
  source: RunSummary['source'],
  job: JobInfo | undefined
): Promise<RunDetail> {
  const [summary, files, steps, log, samples] = await Promise.all([
    summarizeRun(runDir, source, job),
    readRunFiles(runDir),
    readStepSeries(runDir),
    readLogTail(runDir),
    readSamples(runDir)
  ])
  return {
    summary,
    config: (files.config as unknown as Record<string, unknown>) ?? null,
    results: (files.trainer?.history ?? []) as EpochRecord[],
    steps,
    log,
    samples
  }
}

/** The per-step scalars (`step/…`) of the run's event file, thinned evenly to MAX_STEP_POINTS steps. */
export async function readStepSeries(runDir: string): Promise<StepSeries> {
  const name = (await readdir(runDir).catch(() => [] as string[]))
    .filter((file) => file.startsWith('events.out.tfevents.'))
    .sort()[0]
  const byStep = new Map<number, Record<string, number>>()
  if (name) {
    const bytes = await readFile(join(runDir, name)).catch(() => null)
    // a file cut short by a kill still yields the records before the cut
    const scalars = bytes ? safeScalars(new Uint8Array(bytes)) : []
    for (const { tag, step, value } of scalars) {
      if (!tag.startsWith('step/')) continue
      const row = byStep.get(step) ?? {}
      row[tag.slice('step/'.length)] = value
      byStep.set(step, row)
    }
  }
  const steps = [...byStep.keys()].sort((a, b) => a - b)
  const kept = thin(steps, MAX_STEP_POINTS)
  const tags = [...new Set([...byStep.values()].flatMap((row) => Object.keys(row)))]
  return {
    steps: kept,
    series: Object.fromEntries(tags.map((tag) => [tag, kept.map((step) => byStep.get(step)?.[tag] ?? null)]))
  }
}

/** The curves of a damaged event file up to the damage (a resume drops the rest and writes it whole). */
function safeScalars(bytes: Uint8Array): ReturnType<typeof readIntactScalars> {
  try {
    return readIntactScalars(bytes)
  } catch {
    return []
  }
}

/** At most `max` items, evenly spread, first and last included. */
export function thin<T>(items: readonly T[], max: number): T[] {
  if (items.length <= max) return [...items]
  const out: T[] = []
  for (let i = 0; i < max; i++) out.push(items[Math.round((i * (items.length - 1)) / (max - 1))])
  return out
}

async function readLogTail(runDir: string): Promise<string[]> {
  const text = await readFile(join(runDir, RUN_FILES.log), 'utf8').catch(() => '')
  return text.split('\n').filter(Boolean).slice(-LOG_TAIL_LINES)
}

async function readSamples(runDir: string): Promise<RunDetail['samples']> {
  const text = await readFile(join(runDir, RUN_FILES.samples), 'utf8').catch(() => null)
  if (!text) return null
  try {
    const parsed = SamplesEvent.safeParse(JSON.parse(text))
    return parsed.success ? parsed.data : null
  } catch {
    return null
  }
}
