// Binds the whole contract to ipcMain in one loop. Every call passes the same wrapper: the sender
// must be one of our windows showing our renderer, and the request must match the contract.
// Only types come from electron here, so unit tests drive it with a fake ipcMain.
import type { IpcMainInvokeEvent } from 'electron'
import {
  callNames,
  events,
  ipcChannel,
  ipcEventChannel,
  type CallName,
  type Envelope,
  type EventName,
  type EventOf
} from '../../common/contract'
import { parseRequest } from '../backend/dispatch'

/** The part of an invoke event the wrapper reads. */
export type InvokeEvent = Pick<IpcMainInvokeEvent, 'sender'> & {
  senderFrame: { url: string; parent: unknown } | null
}

export interface IpcMainLike {
  handle(channel: string, listener: (event: InvokeEvent, ...args: unknown[]) => Promise<unknown>): void
  removeHandler(channel: string): void
}

/** Runs a validated call (in-process via dispatch, or forwarded to the back-end utility process). */
export type Invoke = (name: CallName, request: unknown) => Promise<Envelope<unknown>>

export type SenderCheck = (event: InvokeEvent) => boolean

export interface BindOptions {
  isTrustedSender: SenderCheck
  /** Told about refused calls (an untrusted frame calling in is worth a log line). */
  onRefused?: (name: CallName, reason: string) => void
}

/** Registers a handler for every call of the contract; returns a function that removes them. */
export function bindContract(ipcMain: IpcMainLike, invoke: Invoke, options: BindOptions): () => void {
  for (const name of callNames) {
    ipcMain.handle(ipcChannel(name), async (event, request) => {
      if (!options.isTrustedSender(event)) {
        const reason = `refused ${name} from ${event.senderFrame?.url ?? 'an unknown frame'}`
        options.onRefused?.(name, reason)
        return { ok: false, error: { message: reason, user: false } } satisfies Envelope<never>
      }
      const parsed = parseRequest(name, request)
      if (!parsed.ok) {
        options.onRefused?.(name, parsed.error.message)
        return parsed
      }
      return invoke(name, parsed.value)
    })
  }
  return () => {
    for (const name of callNames) ipcMain.removeHandler(ipcChannel(name))
  }
}

/**
 * Accepts only the top frame of a window we created, showing a page under `rendererUrl`
 * (cxr://app/ in the app, the dev server in development, or one file:// page).
 */
export function senderCheck(rendererUrl: string, windowContentsIds: () => Iterable<number>): SenderCheck {
  const allowed = new URL(rendererUrl)
  return (event) => {
    const frame = event.senderFrame
    if (!frame || frame.parent) return false
    if (![...windowContentsIds()].includes(event.sender.id)) return false
    let url: URL
    try {
      url = new URL(frame.url)
    } catch {
      return false
    }
    // Compare scheme and host, not URL.origin: a custom scheme's origin is the opaque "null".
    if (url.protocol !== allowed.protocol || url.host !== allowed.host) return false
    return url.protocol === 'file:' ? url.pathname === allowed.pathname : true
  }
}

export interface EventTarget {
  send(channel: string, payload: unknown): void
  isDestroyed(): boolean
}

/** Sends an event checked against the contract, so the renderer only ever sees declared shapes. */
export function sendEvent<E extends EventName>(target: EventTarget, event: E, payload: EventOf<E>): void {
  if (target.isDestroyed()) return
  target.send(ipcEventChannel(event), events[event].parse(payload))
}
