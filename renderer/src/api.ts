// The renderer's only door to the back end: the typed client from the contract. Inside Electron
// the preload provides it (IPC); in a browser it speaks HTTP + WebSocket to the web host.
import { createClient, type CxrApi } from '../../common/contract/client'
import { httpTransport } from '../../common/contract/http'

export const isDesktop = Boolean(window.cxr)
export const api: CxrApi = window.cxr ?? createClient(httpTransport())

/** A readable one-liner for any failure (CallError messages already name the file and the reason). */
export function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

let jobCounter = 0
export function newJobId(kind: string): string {
  return `${kind}-${Date.now().toString(36)}-${(jobCounter++).toString(36)}`
}
