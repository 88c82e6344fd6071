import { EventEmitter } from 'node:events'
import { randomUUID } from 'node:crypto'
import { fork } from 'node:child_process'
import type { Progress } from '../../common/domain'
import { errorMessage, UserError } from './errors'

/**
 * The one "job" abstraction for slow work (indexing, exports, training, prediction): start, progress
 * events, cancel, result, error. The CLI, the web host and Electron main all run work through it.
 */
export type JobState = 'running' | 'succeeded' | 'failed' | 'cancelled'

export interface JobInfo {
  id: string
  kind: string
  state: JobState
  progress: Progress | null
  startedAt: number
  endedAt: number | null
  error: string | null
}

export interface JobContext {
  signal: AbortSignal
  onProgress(progress: Progress): void
}

export type JobEvent =
  | { type: 'progress'; job: JobInfo }
  | { type: 'ended'; job: JobInfo; result?: unknown }

export interface Job<R> {
  info: JobInfo
  result: Promise<R>
  cancel(): void
}

export class JobManager {
  private readonly jobs = new Map<string, { info: JobInfo; controller: AbortController }>()
  private readonly events = new EventEmitter()

  start<R>(kind: string, work: (ctx: JobContext) => Promise<R>): Job<R> {
    const controller = new AbortController()
    const info: JobInfo = {
      id: randomUUID(),
      kind,
      state: 'running',
      progress: null,
      startedAt: Date.now(),
      endedAt: null,
      error: null
    }
    this.jobs.set(info.id, { info, controller })
    const ctx: JobContext = {
      signal: controller.signal,
      onProgress: (progress) => {
        info.progress = progress
        this.emit({ type: 'progress', job: { ...info } })
      }
    }
    const result = (async () => {
      try {
        const value = await work(ctx)
        info.state = controller.signal.aborted ? 'cancelled' : 'succeeded'
        info.endedAt = Date.now()
        this.emit({ type: 'ended', job: { ...info }, result: value })
        return value
      } catch (err) {
        info.state = controller.signal.aborted ? 'cancelled' : 'failed'
        info.error = errorMessage(err)
        info.endedAt = Date.now()
        this.emit({ type: 'ended', job: { ...info } })
        throw err
      }
    })()
    // Callers that only listen to events must not see unhandled rejections.
    result.catch(() => undefined)
    return { info, result, cancel: () => controller.abort() }
  }

  cancel(id: string): boolean {
    const job = this.jobs.get(id)
    if (!job || job.info.state !== 'running') return false
    job.controller.abort()
    return true
  }

  list(): JobInfo[] {
    return [...this.jobs.values()].map((job) => ({ ...job.info }))
  }

  get(id: string): JobInfo | null {
    const job = this.jobs.get(id)
    return job ? { ...job.info } : null
  }

  onEvent(listener: (event: JobEvent) => void): () => void {
    this.events.on('event', listener)
    return () => this.events.off('event', listener)
  }

  private emit(event: JobEvent): void {
    this.events.emit('event', event)
  }
}

/** Messages a worker process sends to its parent. */
export type WorkerMessage =
  | { type: 'progress'; progress: Progress }
  | { type: 'event'; name: string; payload: unknown }
  | { type: 'result'; result: unknown }
  | { type: 'error'; message: string; userError: boolean }

/** The part of a child process a job needs; Electron's utilityProcess is adapted to it in main/electron. */
export interface WorkerProcess {
  send(message: unknown): void
  onMessage(listener: (message: WorkerMessage) => void): void
  onExit(listener: (code: number | null) => void): void
  kill(): void
}

export type WorkerLauncher = (script: string) => WorkerProcess

/** Default launcher for the CLI and the web host: a Node child process with an IPC channel. */
export const forkLauncher: WorkerLauncher = (script) => {
  const child = fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  return {
    send: (message) => child.send(message as object),
    onMessage: (listener) => child.on('message', (message) => listener(message as WorkerMessage)),
    onExit: (listener) => child.on('exit', (code) => listener(code)),
    kill: () => child.kill()
  }
}

/**
 * Runs `script` in a worker process: sends it `{type:'start', params}`, relays progress and events,
 * resolves with its result. Cancelling sends `{type:'cancel'}` so the worker can stop cleanly (e.g. write a
 * last checkpoint), and kills it if it has not exited after `graceMs`.
 */
export function runWorker<R>(
  script: string,
  params: unknown,
  ctx: JobContext & { onEvent?: (name: string, payload: unknown) => void },
  launch: WorkerLauncher = forkLauncher,
  graceMs = 30_000
): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    const worker = launch(script)
    let settled = false
    const settle = (fn: () => void) => {
      if (settled) return
      settled = true
      fn()
      // A worker that answered but lingers (a stuck handle) must not outlive its job.
      setTimeout(() => worker.kill(), 5_000).unref()
    }
    const onAbort = () => {
      worker.send({ type: 'cancel' })
      setTimeout(() => worker.kill(), graceMs).unref()
    }
    ctx.signal.addEventListener('abort', onAbort, { once: true })
    worker.onMessage((message) => {
      if (message.type === 'progress') ctx.onProgress(message.progress)
      else if (message.type === 'event') ctx.onEvent?.(message.name, message.payload)
      else if (message.type === 'result') settle(() => resolve(message.result as R))
      else if (message.type === 'error')
        settle(() => reject(message.userError ? new UserError(message.message) : new Error(message.message)))
    })
    worker.onExit((code) => {
      ctx.signal.removeEventListener('abort', onAbort)
      settle(() => reject(new Error(`worker ${script} exited with code ${code} before sending a result`)))
    })
    worker.send({ type: 'start', params })
  })
}
