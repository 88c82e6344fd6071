// Training as a back-end feature: check a form's settings against the rules the trainer applies,
// probe which tfjs backend would run, and start or resume a run as a job in the train worker. The
// CLI's `train` command goes through trainingJob() too, so a run started anywhere is the same run.
import { availableParallelism } from 'node:os'
import { basename, join } from 'node:path'
import { mkdir, readdir } from 'node:fs/promises'
import { STUDY_CLASSES } from '../../../common/domain'
import {
  type BackendProbe,
  type FieldError,
  type TrainingCheck,
  type TrainingStarted,
  type TrainResult
} from '../../../common/contract'
import { TrainSettings, type TrainArgs } from '../../../common/training'
import { UserError, errorMessage } from '../../core/errors'
import { splitByStudy } from '../../core/export/split'
import { trainingImages } from '../../ml/data/samples'
import { resolveDetectorConfig } from '../../ml/detect/config'
import { DEFAULT_VAL_MIN_PER_CLASS, resolveTrainConfig } from '../../ml/train/config'
import type { DatasetService } from '../datasets/service'
import { validateFile } from '../folders'
import type { JobHandle, JobService } from '../jobs/job-service'
import { readRunDetail, runIdOf } from './run-folders'
import type { RunsService } from './runs'

/** Trainings wait for each other: two at once on two cores would each run at half speed or worse. */
export const ML_QUEUE = 'ml'

/** Starts `cxr-studio train` with `args` as a job in the train worker. */
export function trainingJob(jobs: JobService, args: TrainArgs, title?: string): JobHandle<TrainResult> {
  return jobs.startWorker<TrainResult>(
    {
      kind: 'train',
      title: title ?? `${args.resume ? 'Resuming' : 'Training'} ${args.out}`,
      queue: ML_QUEUE,
      meta: { runDir: args.out, runId: runIdOf(args.out), dataset: args.dataset },
      // the epochs are in the run folder and the job's events; the listing needs only the outcome
      publish: (result) => ({ ...(result as TrainResult), history: [] })
    },
    'train-worker',
    args
  )
}

export interface TrainingServiceOptions {
  workspace: string
  jobs: JobService
  datasets: DatasetService
  runs: RunsService
}

export class TrainingService {
  private probing: Promise<BackendProbe> | null = null
  /** Run folder names handed out but maybe not created yet (the trainer creates a run's folder). */
  private readonly reserved = new Set<string>()

  constructor(private readonly options: TrainingServiceOptions) {}

  /** The form's problems per field, the defaults the unset fields take (and why), and the data's split. */
  async check(datasetId: string, raw: unknown): Promise<TrainingCheck> {
    const session = await this.options.datasets.session(datasetId)
    const errors: FieldError[] = []
    const settings = validSettings(raw, errors)
    const cores = availableParallelism()
    if (settings.threads === 2 && cores < 2)
      errors.push({ field: 'threads', message: `this machine has ${cores} core: one thread only` })
    if (settings.pretrained) {
      await validateFile(settings.pretrained).catch((err: Error) =>
        errors.push({ field: 'pretrained', message: err.message })
      )
    }
    let defaults: Record<string, string> = {}
    try {
      const config = resolveTrainConfig({
        ...settings,
        dataset: session.dataset.root,
        out: '-',
        workspace: '-'
      })
      defaults = config.defaults
      resolveDetectorConfig({ ...config.detector })
    } catch (err) {
      errors.push({ field: fieldOf(errorMessage(err)), message: errorMessage(err) })
    }
    const split = this.splitPreview(session.dataset, settings, errors)
    return { errors: dedupe(errors), defaults, cores, ...split }
  }

  /** Which backend `auto` gets here and why, probed once in a worker (tfjs stays out of this process). */
  probe(): Promise<BackendProbe> {
    this.probing ??= this.options.jobs
      .startWorker<BackendProbe>(
        { kind: 'probe-backend', title: 'Probing the tfjs backends' },
        'predict-worker',
        {
          kind: 'probe-backend'
        }
      )
      .result.catch((err) => {
        this.probing = null
        throw err
      })
    return this.probing
  }

  async start(datasetId: string, raw: TrainSettings, name?: string): Promise<TrainingStarted> {
    const check = await this.check(datasetId, raw)
    if (check.errors.length)
      throw new UserError(check.errors.map((e) => `${e.field}: ${e.message}`).join('; '))
    const session = await this.options.datasets.session(datasetId)
    const settings = TrainSettings.parse(raw)
    const runDir = await this.newRunFolder(name ?? defaultRunName(settings))
    const job = trainingJob(
      this.options.jobs,
      { ...settings, dataset: session.dataset.root, out: runDir, workspace: this.options.workspace },
      `Training ${basename(runDir)} (${settings.head ?? 'efficientdet'} / ${settings.backbone ?? 'efficientnet-b0'} on ${session.name})`
    )
    return { jobId: job.jobId, runId: runIdOf(runDir), runDir }
  }

  /** Continues a run from checkpoints/last; a time-limited run gets what was left of its minutes unless told otherwise. */
  async resume(
    runId: string,
    overrides: { epochs?: number; timeLimitMinutes?: number }
  ): Promise<TrainingStarted> {
    const { runDir, source } = await this.options.runs.find(runId)
    const detail = await readRunDetail(runDir, source, undefined)
    if (detail.summary.state === 'running' || detail.summary.state === 'queued')
      throw new UserError(`${runDir}: the run is training already`)
    if (detail.summary.state === 'completed' && !overrides.epochs)
      throw new UserError(`${runDir}: the run completed its epochs; give more epochs to continue it`)
    const train = (detail.config?.train ?? null) as TrainArgs | null
    if (!train) throw new UserError(`${runDir}: no readable config.json to resume from`)
    let timeLimitMinutes = overrides.timeLimitMinutes
    if (timeLimitMinutes === undefined && overrides.epochs === undefined && train.timeLimitMinutes) {
      const usedMinutes = (detail.summary.durationSeconds ?? 0) / 60
      timeLimitMinutes = Math.max(1, Math.round(train.timeLimitMinutes - usedMinutes))
    }
    const job = trainingJob(
      this.options.jobs,
      {
        dataset: train.dataset,
        out: runDir,
        workspace: this.options.workspace,
        resume: true,
        epochs: overrides.epochs,
        timeLimitMinutes
      },
      `Resuming ${detail.summary.name}`
    )
    return { jobId: job.jobId, runId, runDir }
  }

  private splitPreview(
    dataset: Parameters<typeof trainingImages>[0],
    settings: TrainSettings,
    errors: FieldError[]
  ): Pick<TrainingCheck, 'trainImages' | 'valStudiesPerClass'> {
    const empty = Object.fromEntries(STUDY_CLASSES.map((c) => [c, 0]))
    try {
      const kept = trainingImages(dataset, settings.policy ?? 'keep-boxed')
      const fold =
        settings.folds !== undefined && settings.fold !== undefined && settings.fold < settings.folds
          ? { count: settings.folds, index: settings.fold }
          : undefined
      const { valStudyIds } = splitByStudy(kept, dataset.studies, {
        valFraction: settings.valFraction ?? 0.1,
        valMinPerClass: settings.valMinPerClass ?? DEFAULT_VAL_MIN_PER_CLASS,
        fold,
        seed: settings.seed ?? 42
      })
      const perClass = { ...empty }
      for (const study of dataset.studies)
        if (valStudyIds.has(study.studyId) && study.label?.label) perClass[study.label.label]++
      return { trainImages: kept.length, valStudiesPerClass: perClass }
    } catch (err) {
      errors.push({ field: 'dataset', message: errorMessage(err) })
      return { trainImages: 0, valStudiesPerClass: empty }
    }
  }

  /**
   * runs/<name> in the workspace, made unique. Not created here: the trainer creates it once the
   * data are ready, so a refused dataset leaves no empty run behind.
   */
  private async newRunFolder(name: string): Promise<string> {
    const runsDir = this.options.runs.runsDir
    await mkdir(runsDir, { recursive: true })
    const taken = new Set([...(await readdir(runsDir)), ...this.reserved])
    let candidate = name
    for (let n = 2; taken.has(candidate); n++) candidate = `${name}-${n}`
    this.reserved.add(candidate)
    return join(runsDir, candidate)
  }
}

/**
 * The settings without the fields that break the schema (each reported in `errors`), so that the
 * other fields are still checked together: a bad strategy must not hide a bad image size.
 */
function validSettings(raw: unknown, errors: FieldError[]): TrainSettings {
  const parsed = TrainSettings.safeParse(raw ?? {})
  if (parsed.success) return parsed.data
  const bad = new Set<string>()
  for (const issue of parsed.error.issues) {
    const field = issue.path.length ? String(issue.path[0]) : 'settings'
    // an unknown key is reported by the object itself, under the key's name
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [field]
    for (const key of keys) {
      bad.add(key)
      errors.push({
        field: key,
        message: issue.code === 'unrecognized_keys' ? 'not a training setting' : issue.message
      })
    }
  }
  if (bad.has('settings') || typeof raw !== 'object' || raw === null) return {}
  const rest = Object.fromEntries(Object.entries(raw).filter(([key]) => !bad.has(key)))
  const retried = TrainSettings.safeParse(rest)
  return retried.success ? retried.data : {}
}

/** e.g. `2026-12-06-1430-efficientdet-efficientnet-b0`: sorts by time, says what was trained. */
function defaultRunName(settings: TrainSettings): string {
  const stamp = new Date().toISOString().slice(0, 16).replace('T', '-').replace(':', '')
  return `${stamp}-${settings.head ?? 'efficientdet'}-${settings.backbone ?? 'efficientnet-b0'}`
}

/** The form field a configuration error is about (the trainer's messages name the CLI option). */
function fieldOf(message: string): string {
  const option = /--([a-z-]+)/.exec(message)?.[1] ?? /invalid training argument (\w+)/.exec(message)?.[1]
  if (!option) return /image.?size/i.test(message) ? 'imageSize' : 'settings'
  return option
    .replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())
    .replace(/^timeLimit$/, 'timeLimitMinutes')
}

function dedupe(errors: FieldError[]): FieldError[] {
  const seen = new Set<string>()
  return errors.filter((e) => !seen.has(`${e.field}:${e.message}`) && seen.add(`${e.field}:${e.message}`))
}
