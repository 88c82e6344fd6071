// The launcher of the desktop app's back end. The back end runs in an Electron utilityProcess, and
// only Electron's main process can start another one: so each launch is a request to main
// (main/electron/worker-relay.ts), which forks the worker as a utilityProcess and relays its
// messages both ways. Plain messages, no Electron import: unit tests drive it with a fake port.
import type { WorkerCommand, WorkerMessage } from '../../workers/protocol'
import type { WorkerExit, WorkerLauncher, WorkerProcess } from './launcher'

/** Back end → main. */
export type RelayRequest =
  | { type: 'worker-launch'; workerId: number; script: string }
  | { type: 'worker-send'; workerId: number; message: WorkerCommand }
  | { type: 'worker-kill'; workerId: number }

/** Main → back end. */
export type RelayReply =
  | { type: 'worker-message'; workerId: number; message: WorkerMessage }
  | { type: 'worker-exit'; workerId: number; exit: WorkerExit }

export interface RelayPort {
  post(request: RelayRequest): void
  /** Registers the handler of main's replies (the back end's message loop passes them on). */
  onReply(listener: (reply: RelayReply) => void): void
}

export function portLauncher(port: RelayPort): WorkerLauncher {
  let nextId = 1
  const workers = new Map<
    number,
    { message: Set<(message: WorkerMessage) => void>; exit: Set<(exit: WorkerExit) => void> }
  >()
  port.onReply((reply) => {
    const worker = workers.get(reply.workerId)
    if (!worker) return
    if (reply.type === 'worker-message') for (const listener of worker.message) listener(reply.message)
    else {
      workers.delete(reply.workerId)
      for (const listener of worker.exit) listener(reply.exit)
    }
  })
  return {
    launch(script): WorkerProcess {
      const workerId = nextId++
      const listeners = { message: new Set<(m: WorkerMessage) => void>(), exit: new Set<(e: WorkerExit) => void>() }
      workers.set(workerId, listeners)
      port.post({ type: 'worker-launch', workerId, script })
      return {
        send: (message) => port.post({ type: 'worker-send', workerId, message }),
        onMessage: (listener) => listeners.message.add(listener),
        onExit: (listener) => listeners.exit.add(listener),
        kill: () => port.post({ type: 'worker-kill', workerId })
      }
    }
  }
}
