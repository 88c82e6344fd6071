// Main's half of the back end's worker launcher (main/backend/jobs/port-launcher.ts): forks each
// job worker as a utilityProcess, relays messages both ways, reports its exit with the tail of its
// stderr, and kills every worker when the back end goes away. Nothing else happens in main.
import type { UtilityProcess } from 'electron'
import type { RelayReply, RelayRequest } from '../backend/jobs/port-launcher'

export type ForkUtility = (script: string) => UtilityProcess

const STDERR_TAIL_BYTES = 4096

export interface WorkerRelay {
  /** Handles a request of the back end; false when the message was not for the relay. */
  handle(request: RelayRequest | { type: string }): boolean
  killAll(): void
}

export function workerRelay(fork: ForkUtility, reply: (message: RelayReply) => void): WorkerRelay {
  const workers = new Map<number, UtilityProcess>()
  return {
    handle(request) {
      const message = request as RelayRequest
      if (message.type === 'worker-launch') {
        const child = fork(message.script)
        workers.set(message.workerId, child)
        let stderr = ''
        child.stderr?.on('data', (chunk: Buffer) => {
          process.stderr.write(chunk)
          stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES)
        })
        child.on('message', (payload) =>
          reply({ type: 'worker-message', workerId: message.workerId, message: payload })
        )
        child.on('exit', (code) => {
          workers.delete(message.workerId)
          reply({ type: 'worker-exit', workerId: message.workerId, exit: { code, signal: null, stderr } })
        })
        return true
      }
      if (message.type === 'worker-send') {
        workers.get(message.workerId)?.postMessage(message.message)
        return true
      }
      if (message.type === 'worker-kill') {
        workers.get(message.workerId)?.kill()
        return true
      }
      return false
    },
    killAll() {
      for (const child of workers.values()) child.kill()
      workers.clear()
    }
  }
}
