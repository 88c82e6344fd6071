import type { Progress } from '../../common/domain'
import { UserError, errorMessage } from '../core/errors'
import type { WorkerCommand, WorkerMessage } from './protocol'

/**
 * The worker side of a job (main/backend/jobs/run-in-worker.ts). Works in a Node child process (process.send)
 * and in an Electron utilityProcess (process.parentPort), so a worker script is written once.
 */
export interface WorkerContext {
  signal: AbortSignal
  onProgress(progress: Progress): void
  emit(name: string, payload: unknown): void
}

interface ParentPort {
  on(event: 'message', listener: (event: { data: unknown }) => void): void
  postMessage(message: unknown): void
}

export function serveWorker<P, R>(handler: (params: P, ctx: WorkerContext) => Promise<R>): void {
  const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort
  const post = (message: WorkerMessage) => {
    if (parentPort) parentPort.postMessage(message)
    else process.send?.(message)
  }
  const controller = new AbortController()
  let started = false

  const onMessage = (message: unknown) => {
    const msg = message as Partial<WorkerCommand> | null
    if (msg?.type === 'cancel') controller.abort()
    if (msg?.type !== 'start' || started) return
    started = true
    const ctx: WorkerContext = {
      signal: controller.signal,
      onProgress: (progress) => post({ type: 'progress', progress }),
      emit: (name, payload) => post({ type: 'event', name, payload })
    }
    handler(msg.params as P, ctx).then(
      (result) => {
        post({ type: 'result', result })
        exitSoon()
      },
      (err) => {
        post({ type: 'error', message: errorMessage(err), userError: err instanceof UserError })
        exitSoon()
      }
    )
  }

  if (parentPort) parentPort.on('message', (event) => onMessage(event.data))
  else process.on('message', onMessage)
}

function exitSoon(): void {
  // Let the last message flush before the process ends.
  setTimeout(() => process.exit(0), 50)
}
