// One job's worker process: start it, relay its progress and events, settle with its result. A
// cancel asks the worker to stop cleanly (training finishes its step and writes checkpoints/last)
// and kills it after a grace period; a worker that exits without answering fails the job with the
// exit code or signal and the last line it wrote to stderr.
import { basename } from 'node:path'
import { UserError } from '../../core/errors'
import type { JobContext } from './job-service'
import type { WorkerExit, WorkerLauncher } from './launcher'

/** How long a worker that has answered may linger (a stuck handle) before it is killed. */
const LINGER_MS = 5_000

export function runInWorker<R>(
  launcher: WorkerLauncher,
  script: string,
  params: unknown,
  ctx: JobContext,
  cancelGraceMs: number
): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    const worker = launcher.launch(script)
    let settled = false
    const timers: NodeJS.Timeout[] = []
    const settle = (fn: () => void) => {
      if (settled) return
      settled = true
      fn()
      timers.push(setTimeout(() => worker.kill(), LINGER_MS).unref())
    }
    const onAbort = () => {
      worker.send({ type: 'cancel' })
      timers.push(setTimeout(() => worker.kill(), cancelGraceMs).unref())
    }
    ctx.signal.addEventListener('abort', onAbort, { once: true })
    worker.onMessage((message) => {
      if (message.type === 'progress') ctx.onProgress(message.progress)
      else if (message.type === 'event') ctx.emit(message.name, message.payload)
      else if (message.type === 'result') settle(() => resolve(message.result as R))
      else if (message.type === 'error')
        settle(() => reject(message.userError ? new UserError(message.message) : new Error(message.message)))
    })
    worker.onExit((exit) => {
      ctx.signal.removeEventListener('abort', onAbort)
      for (const timer of timers) clearTimeout(timer)
      settle(() => reject(new Error(crashMessage(script, exit, ctx.signal.aborted))))
    })
    worker.send({ type: 'start', params })
  })
}

function crashMessage(script: string, exit: WorkerExit, cancelled: boolean): string {
  const name = basename(script).replace(/\.[cm]?js$/, '')
  const how = exit.signal ? `was killed (${exit.signal})` : `exited with code ${exit.code}`
  // Node ends a crash with its stack and its version: the error's own line says why
  const lines = exit.stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('at ') && !/^Node\.js v\d/.test(line))
  const lastWords = [...lines].reverse().find((line) => /error/i.test(line)) ?? lines[lines.length - 1]
  const why = cancelled ? ' while it was being cancelled' : ''
  return `the ${name} ${how}${why} before it finished${lastWords ? `: ${lastWords}` : ''}`
}
