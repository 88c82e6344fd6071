// Main's handle on the back end, which runs in an Electron utilityProcess (out/node/backend-process.js):
// calls go out as messages with an id, replies and events come back. Main stays free for windows.
import { utilityProcess, type UtilityProcess } from 'electron'
import type { CallName, Envelope, EventName } from '../../common/contract'
import type { BackendMessage, BackendRequest } from './backend-process'
import type { Invoke } from './ipc'
import { answerSecretRequest, isSecretRequest } from './secret-cipher'
import { workerRelay } from './worker-relay'

export interface BackendClient {
  invoke: Invoke
  onEvent(listener: (event: EventName, payload: unknown) => void): () => void
  stop(): void
}

export function startBackend(script: string, env: NodeJS.ProcessEnv): BackendClient {
  const pending = new Map<number, (envelope: Envelope<unknown>) => void>()
  const listeners = new Set<(event: EventName, payload: unknown) => void>()
  let nextId = 1
  let child: UtilityProcess | null = null
  let stopping = false

  const spawn = () => {
    const current = utilityProcess.fork(script, [], {
      serviceName: 'CXR Studio back end',
      stdio: 'inherit',
      env
    })
    child = current
    // the back end's job workers (training, prediction) are utility processes too, forked here
    const relay = workerRelay(
      (worker) => utilityProcess.fork(worker, [], { serviceName: 'CXR Studio worker', stdio: 'pipe', env }),
      (reply) => current.postMessage(reply satisfies BackendRequest)
    )
    current.on('message', (message: BackendMessage) => {
      if (relay.handle(message)) return
      if (isSecretRequest(message))
        return current.postMessage(answerSecretRequest(message) satisfies BackendRequest)
      if (message.type === 'reply') {
        pending.get(message.id)?.(message.envelope)
        pending.delete(message.id)
      } else if (message.type === 'event') {
        for (const listener of listeners) listener(message.event, message.payload)
      }
    })
    current.on('exit', (code) => {
      relay.killAll()
      // Fail what was in flight, then come back: one crashed decode must not end the session.
      for (const reply of pending.values())
        reply({
          ok: false,
          error: { message: `the back end stopped (exit code ${code}); try again`, user: false }
        })
      pending.clear()
      child = null
      if (!stopping) setTimeout(spawn, 500)
    })
  }
  spawn()

  return {
    invoke(name: CallName, request: unknown) {
      return new Promise((resolve) => {
        if (!child)
          return resolve({
            ok: false,
            error: { message: 'the back end is restarting; try again', user: false }
          })
        const id = nextId++
        pending.set(id, resolve)
        child.postMessage({ type: 'call', id, name, request } satisfies BackendRequest)
      })
    },
    onEvent(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    stop() {
      stopping = true
      child?.kill()
    }
  }
}
