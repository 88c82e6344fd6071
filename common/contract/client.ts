// The typed client generated from the contract: one method per call, `on` per event.
// The transport decides how a call travels (Electron IPC through the preload, or HTTP + WebSocket).
import {
  callNames,
  type CallName,
  type Envelope,
  type EventName,
  type EventOf,
  type RequestOf,
  type ResponseOf
} from './index'

export interface Transport {
  call(name: CallName, request: unknown): Promise<Envelope<unknown>>
  subscribe(event: EventName, listener: (payload: unknown) => void): () => void
}

/** Calls whose request has no required field may be called without an argument. */
type CallArgs<K extends CallName> =
  Record<string, never> extends RequestOf<K> ? [request?: RequestOf<K>] : [request: RequestOf<K>]

export type CxrApi = { [K in CallName]: (...args: CallArgs<K>) => Promise<ResponseOf<K>> } & {
  on<E extends EventName>(event: E, listener: (payload: EventOf<E>) => void): () => void
}

/** A failed call; `message` is ready to show (it names the file and the reason for user errors). */
export class CallError extends Error {
  override name = 'CallError'
  constructor(
    message: string,
    readonly call: CallName,
    readonly user: boolean
  ) {
    super(message)
  }
}

export function createClient(transport: Transport): CxrApi {
  const api: Record<string, unknown> = {}
  for (const name of callNames) {
    api[name] = async (request: unknown = {}) => {
      const envelope = await transport.call(name, request)
      if (!envelope.ok) throw new CallError(envelope.error.message, name, envelope.error.user)
      return envelope.value
    }
  }
  api.on = (event: EventName, listener: (payload: unknown) => void) => transport.subscribe(event, listener)
  return api as CxrApi
}
