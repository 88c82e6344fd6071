// The web host's side of the wire, as seen by a client: POST /api/call/<name> and one WebSocket
// for events. Used by the renderer in a browser and by tests in Node (fetch + the `ws` package).
import { BINARY_CONTENT_TYPE, decodeFrame } from './binary-frame'
import type { Transport } from './client'
import { HTTP_EVENTS_PATH, httpPath, type CallName, type Envelope, type EventName } from './index'

interface SocketLike {
  onmessage: ((event: { data: unknown }) => void) | null
  onclose: ((event: unknown) => void) | null
  close(): void
}

export interface HttpTransportOptions {
  /** e.g. `http://127.0.0.1:7788`; defaults to the page's origin. */
  baseUrl?: string
  /** Sent as `Authorization: token …`; a browser page uses the cookie set by the tokened URL instead. */
  token?: string
  /** WebSocket constructor (the browser's by default). */
  WebSocket?: new (url: string) => SocketLike
  /** Delay before reconnecting the event socket after it drops. */
  reconnectMs?: number
}

export function httpTransport(options: HttpTransportOptions = {}): Transport {
  const baseUrl = options.baseUrl ?? (globalThis as { location?: { origin: string } }).location?.origin ?? ''
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (options.token) headers.authorization = `token ${options.token}`
  const listeners = new Map<EventName, Set<(payload: unknown) => void>>()
  let socket: SocketLike | null = null

  const connect = () => {
    const Socket =
      options.WebSocket ?? (globalThis as { WebSocket?: HttpTransportOptions['WebSocket'] }).WebSocket
    if (!Socket || socket) return
    const url = new URL(HTTP_EVENTS_PATH, baseUrl)
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'
    if (options.token) url.searchParams.set('token', options.token)
    const current = new Socket(url.href)
    socket = current
    current.onmessage = (event) => {
      const message = JSON.parse(String(event.data)) as { event: EventName; payload: unknown }
      for (const listener of listeners.get(message.event) ?? []) listener(message.payload)
    }
    current.onclose = () => {
      socket = null
      if ([...listeners.values()].some((set) => set.size > 0))
        setTimeout(connect, options.reconnectMs ?? 1000)
    }
  }

  return {
    async call(name: CallName, request: unknown): Promise<Envelope<unknown>> {
      const response = await fetch(new URL(httpPath(name), baseUrl), {
        method: 'POST',
        headers,
        body: JSON.stringify(request ?? {}),
        credentials: 'same-origin'
      })
      const type = response.headers.get('content-type') ?? ''
      if (response.ok && type.startsWith(BINARY_CONTENT_TYPE)) {
        return { ok: true, value: decodeFrame(await readBinaryBody(response)) }
      }
      if (type.startsWith('application/json')) return (await response.json()) as Envelope<unknown>
      return {
        ok: false,
        error: { message: `${name}: HTTP ${response.status} ${await response.text()}`, user: false }
      }
    },
    subscribe(event, listener) {
      let set = listeners.get(event)
      if (!set) listeners.set(event, (set = new Set()))
      set.add(listener)
      connect()
      return () => {
        set.delete(listener)
        if ([...listeners.values()].every((s) => s.size === 0)) {
          socket?.close()
          socket = null
        }
      }
    }
  }
}

/**
 * The body copied chunk by chunk, as it arrives, into one buffer of the announced length: for a
 * 2k x 2k image about a quarter faster in Chromium than arrayBuffer(), which assembles it at the end.
 */
async function readBinaryBody(response: Response): Promise<ArrayBuffer> {
  const length = Number(response.headers.get('content-length'))
  if (!response.body || !Number.isSafeInteger(length) || length <= 0) return response.arrayBuffer()
  const bytes = new Uint8Array(length)
  const reader = response.body.getReader()
  let filled = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    if (filled + value.byteLength > length) {
      await reader.cancel()
      throw new Error(`binary response is longer than its content-length (${length} bytes)`)
    }
    bytes.set(value, filled)
    filled += value.byteLength
  }
  if (filled < length) throw new Error(`binary response ended after ${filled} of ${length} bytes`)
  return bytes.buffer
}
