// The one job service: everything slow (indexing, pixel checks, the demo, training, prediction) is a
// job with an id, a state, progress, a bounded event history, a result or an error, and a cancel.
// Jobs belong to the back end, not to the page that started them: a reload or a second tab lists
// them and re-attaches. Work runs in-process (work that waits on the decode pool) or in a worker
// process (training, prediction), and a worker that dies ends its job as failed, with the reason.
import { randomUUID } from 'node:crypto'
import {
  JobEvent,
  type JobEventName,
  type JobHistory,
  type JobInfo,
  type JobKind,
  type JobState,
  type Progress
} from '../../../common/contract'
import { UserError, errorMessage } from '../../core/errors'
import { workerScript, type WorkerScript } from '../../core/worker-scripts'
import { EventHistory } from './history'
import { nodeLauncher, type WorkerLauncher } from './launcher'
import { runInWorker } from './run-in-worker'

export interface JobContext {
  jobId: string
  signal: AbortSignal
  onProgress(progress: Progress): void
  /** Records and broadcasts an event (validated against the contract; a bad one is logged and dropped). */
  emit(name: string, payload: unknown): void
  /** Runs a bundled worker script for this job (its progress and events become the job's; cancel reaches it). */
  runWorker<R>(script: WorkerScript, params: unknown): Promise<R>
}

export interface JobSpec {
  kind: JobKind
  /** One line for the job bar. */
  title: string
  meta?: Record<string, string>
  /** An id the caller chose (a page follows progress before the call returns); random otherwise. */
  jobId?: string
  /** Jobs of one queue run one at a time, in order (two trainings on two cores would each crawl). */
  queue?: string
  /** What the job's result becomes in JobInfo (keep it small: it travels with every listing). */
  publish?: (result: unknown) => unknown
}

export interface JobHandle<R> {
  jobId: string
  result: Promise<R>
}

export interface JobServiceOptions {
  launcher?: WorkerLauncher
  /** Progress updates per job at most this often (state changes always go out at once). */
  progressIntervalMs?: number
  /** Ended jobs remembered for listings. */
  keepEnded?: number
  /** Seconds a cancelled worker gets to stop cleanly (write its checkpoint) before it is killed. */
  cancelGraceMs?: number
  logError?: (message: string) => void
}

interface Entry {
  info: JobInfo
  controller: AbortController
  history: EventHistory
  seq: number
  publish: (result: unknown) => unknown
  lastProgressAt: number
  progressTimer: NodeJS.Timeout | null
  queue: string | undefined
  /** True while the job has its queue's turn (it hands the turn on when it ends). */
  holdsQueue: boolean
  /** Starts the work (called at once, or when the job's turn in its queue comes). */
  begin: () => void
  done: Promise<unknown>
}

const ENDED: readonly JobState[] = ['done', 'failed', 'cancelled']

export class JobService {
  private readonly jobs = new Map<string, Entry>()
  private readonly waiting = new Map<string, Entry[]>()
  private readonly busy = new Set<string>()
  private readonly jobListeners = new Set<(job: JobInfo) => void>()
  private readonly eventListeners = new Set<(event: JobEvent) => void>()
  private readonly launcher: WorkerLauncher
  private readonly progressIntervalMs: number
  private readonly keepEnded: number
  private readonly cancelGraceMs: number
  private readonly logError: (message: string) => void

  constructor(options: JobServiceOptions = {}) {
    this.launcher = options.launcher ?? nodeLauncher
    this.progressIntervalMs = options.progressIntervalMs ?? 100
    this.keepEnded = options.keepEnded ?? 100
    this.cancelGraceMs = options.cancelGraceMs ?? 30_000
    this.logError = options.logError ?? ((message) => process.stderr.write(`${message}\n`))
  }

  /** Runs `work` in this process as a job. */
  start<R>(spec: JobSpec, work: (ctx: JobContext) => Promise<R>): JobHandle<R> {
    const jobId = spec.jobId ?? `${spec.kind}-${randomUUID()}`
    if (this.jobs.has(jobId)) throw new UserError(`a job with id ${jobId} exists already`)
    const controller = new AbortController()
    let settle!: { resolve: (value: R) => void; reject: (err: unknown) => void }
    const result = new Promise<R>((resolve, reject) => (settle = { resolve, reject }))
    // callers that only follow events must not see unhandled rejections
    result.catch(() => undefined)
    const entry: Entry = {
      info: {
        jobId,
        kind: spec.kind,
        title: spec.title,
        state: 'queued',
        progress: null,
        createdAt: Date.now(),
        startedAt: null,
        endedAt: null,
        error: null,
        result: null,
        meta: spec.meta ?? {}
      },
      controller,
      history: new EventHistory(),
      seq: 0,
      publish: spec.publish ?? ((value) => value),
      lastProgressAt: 0,
      progressTimer: null,
      queue: spec.queue,
      holdsQueue: false,
      begin: () => void this.run(entry, work).then(settle.resolve, settle.reject),
      done: result
    }
    this.jobs.set(jobId, entry)
    this.pruneEnded()
    if (spec.queue && this.busy.has(spec.queue)) {
      this.waiting.set(spec.queue, [...(this.waiting.get(spec.queue) ?? []), entry])
      this.changed(entry)
    } else {
      if (spec.queue) this.busy.add(spec.queue)
      entry.holdsQueue = Boolean(spec.queue)
      entry.begin()
    }
    return { jobId, result }
  }

  /** Runs a bundled worker script as a job: `params` go to its handler, its events and result come back. */
  startWorker<R>(spec: JobSpec, script: WorkerScript, params: unknown): JobHandle<R> {
    return this.start(spec, (ctx) => ctx.runWorker<R>(script, params))
  }

  list(): JobInfo[] {
    return [...this.jobs.values()].map((entry) => ({ ...entry.info })).reverse()
  }

  get(jobId: string): JobInfo | null {
    const entry = this.jobs.get(jobId)
    return entry ? { ...entry.info } : null
  }

  /** The job and the events it kept; live events follow through onEvent. */
  attach(jobId: string): JobHistory {
    const entry = this.jobs.get(jobId)
    if (!entry) throw new UserError(`job ${jobId} is unknown here (the back end restarted, or it ended long ago)`)
    return { job: { ...entry.info }, events: entry.history.events() }
  }

  /** Cancels a queued or running job; false when it has ended or is unknown. */
  cancel(jobId: string): boolean {
    const entry = this.jobs.get(jobId)
    if (!entry || ENDED.includes(entry.info.state)) return false
    entry.controller.abort()
    if (entry.info.state === 'queued' && entry.queue) {
      // out of the line; begun now, it sees the abort and ends as cancelled without running
      this.waiting.set(entry.queue, (this.waiting.get(entry.queue) ?? []).filter((e) => e !== entry))
      entry.begin()
    }
    return true
  }

  onJob(listener: (job: JobInfo) => void): () => void {
    this.jobListeners.add(listener)
    return () => this.jobListeners.delete(listener)
  }

  onEvent(listener: (event: JobEvent) => void): () => void {
    this.eventListeners.add(listener)
    return () => this.eventListeners.delete(listener)
  }

  /** Cancels everything and waits (a bounded time) for the jobs to end; workers left are killed. */
  async close(waitMs = 10_000): Promise<void> {
    const pending = [...this.jobs.values()].filter((entry) => !ENDED.includes(entry.info.state))
    for (const entry of pending) this.cancel(entry.info.jobId)
    const timeout = new Promise((resolve) => setTimeout(resolve, waitMs).unref())
    await Promise.race([Promise.allSettled(pending.map((entry) => entry.done)), timeout])
  }

  private async run<R>(entry: Entry, work: (ctx: JobContext) => Promise<R>): Promise<R> {
    const { info, controller } = entry
    const ctx: JobContext = {
      jobId: info.jobId,
      signal: controller.signal,
      onProgress: (progress) => this.progress(entry, progress),
      emit: (name, payload) => {
        if (!ENDED.includes(entry.info.state)) this.record(entry, name, payload)
      },
      runWorker: <R>(script: WorkerScript, params: unknown) =>
        runInWorker<R>(this.launcher, workerScript(script), params, ctx, this.cancelGraceMs)
    }
    if (!controller.signal.aborted) {
      info.state = 'running'
      info.startedAt = Date.now()
      this.changed(entry)
    }
    try {
      controller.signal.throwIfAborted()
      const value = await work(ctx)
      this.end(entry, controller.signal.aborted ? 'cancelled' : 'done', null, value)
      return value
    } catch (err) {
      const cancelled = controller.signal.aborted
      this.end(entry, cancelled ? 'cancelled' : 'failed', cancelled ? null : errorMessage(err), null)
      throw cancelled && !(err instanceof UserError) ? new UserError('cancelled') : err
    } finally {
      if (entry.holdsQueue && entry.queue) {
        entry.holdsQueue = false
        this.next(entry.queue)
      }
    }
  }

  private next(queue: string): void {
    const following = this.waiting.get(queue)?.shift()
    if (!following) return void this.busy.delete(queue)
    following.holdsQueue = true
    following.begin()
  }

  private end(entry: Entry, state: JobState, error: string | null, value: unknown): void {
    const { info } = entry
    if (entry.progressTimer) clearTimeout(entry.progressTimer)
    entry.progressTimer = null
    info.state = state
    info.error = error
    info.endedAt = Date.now()
    try {
      info.result = value === null || value === undefined ? null : entry.publish(value)
    } catch (err) {
      this.logError(`job ${info.jobId}: its result could not be summarised: ${errorMessage(err)}`)
    }
    this.record(entry, 'end', { state, error })
    this.changed(entry)
  }

  private progress(entry: Entry, progress: Progress): void {
    // a worker may still talk while it is being stopped: an ended job stays as it ended
    if (ENDED.includes(entry.info.state)) return
    entry.info.progress = progress
    const now = Date.now()
    const due = entry.lastProgressAt + this.progressIntervalMs - now
    if (due <= 0 || progress.done >= progress.total) {
      this.changed(entry)
    } else {
      // a trailing update, so the last progress of a burst is always seen
      entry.progressTimer ??= setTimeout(() => this.changed(entry), due)
    }
  }

  private changed(entry: Entry): void {
    if (entry.progressTimer) clearTimeout(entry.progressTimer)
    entry.progressTimer = null
    entry.lastProgressAt = Date.now()
    const snapshot = { ...entry.info }
    for (const listener of this.jobListeners) listener(snapshot)
  }

  private record(entry: Entry, name: string, payload: unknown): void {
    const parsed = JobEvent.safeParse({
      jobId: entry.info.jobId,
      seq: entry.seq + 1,
      at: Date.now(),
      name: name as JobEventName,
      payload
    })
    if (!parsed.success) {
      this.logError(
        `job ${entry.info.jobId}: dropped its '${name}' event, which breaks the contract: ${parsed.error.issues
          .slice(0, 3)
          .map((issue) => `${issue.path.join('.')}: ${issue.message}`)
          .join('; ')}`
      )
      return
    }
    entry.seq++
    entry.history.add(parsed.data)
    for (const listener of this.eventListeners) listener(parsed.data)
  }

  private pruneEnded(): void {
    const ended = [...this.jobs.values()].filter((entry) => ENDED.includes(entry.info.state))
    for (const entry of ended.slice(0, Math.max(0, ended.length - this.keepEnded)))
      this.jobs.delete(entry.info.jobId)
  }
}
