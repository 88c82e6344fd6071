// Entry of the back-end utility process the desktop app starts (see main/electron/backend-client.ts).
// Plain Node, no Electron import: it reads messages from Electron's process.parentPort, answers
// calls through dispatch(), and starts job workers by asking main (worker-relay.ts) to fork them.
import type { CallName, Envelope, EventName } from '../../common/contract'
import { resolveWorkspace } from '../core/workspace'
import { createBackend } from '../backend/index'
import { dispatch } from '../backend/dispatch'
import { portLauncher, type RelayReply, type RelayRequest } from '../backend/jobs/port-launcher'
import { portCipher, type SecretReply, type SecretRequest } from '../backend/pacs/port-cipher'
import { FileSecretStore } from '../backend/pacs/secrets'
import { credentialsPath } from '../backend/pacs/service'

export type BackendRequest =
  { type: 'call'; id: number; name: CallName; request: unknown } | RelayReply | SecretReply
export type BackendMessage =
  | { type: 'reply'; id: number; envelope: Envelope<unknown> }
  | { type: 'event'; event: EventName; payload: unknown }
  | RelayRequest
  | SecretRequest

interface ParentPort {
  on(event: 'message', listener: (event: { data: BackendRequest }) => void): void
  postMessage(message: BackendMessage): void
}

const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort
if (!parentPort) {
  process.stderr.write('backend-process: start me with Electron utilityProcess.fork\n')
  process.exit(2)
}

const relayListeners = new Set<(reply: RelayReply) => void>()
const secretListeners = new Set<(reply: SecretReply) => void>()
const workspace = resolveWorkspace()
const logError = (message: string) => process.stderr.write(`cxr-studio back end: ${message}\n`)
const backend = createBackend({
  workspace,
  host: 'electron',
  // DICOMweb passwords and tokens are sealed by the OS keychain, which only main can reach
  secrets: new FileSecretStore(
    credentialsPath(workspace),
    portCipher({
      post: (request) => parentPort.postMessage(request),
      onReply: (listener) => secretListeners.add(listener)
    }),
    logError
  ),
  launcher: portLauncher({
    post: (request) => parentPort.postMessage(request),
    onReply: (listener) => relayListeners.add(listener)
  }),
  logError
})
backend.onEvent((event, payload) => parentPort.postMessage({ type: 'event', event, payload }))
parentPort.on('message', ({ data }) => {
  if (data?.type === 'worker-message' || data?.type === 'worker-exit') {
    for (const listener of relayListeners) listener(data)
    return
  }
  if (data?.type === 'secret-reply') {
    for (const listener of secretListeners) listener(data)
    return
  }
  if (data?.type !== 'call') return
  void dispatch(backend.handlers, data.name, data.request, { logError: backend.logError }).then((envelope) =>
    parentPort.postMessage({ type: 'reply', id: data.id, envelope })
  )
})
