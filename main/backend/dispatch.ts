// The one place a call from the renderer meets the back end: validate against the contract, run the
// handler, turn every outcome into an envelope. Electron IPC and the web host both go through here.
import { z } from 'zod'
import {
  calls,
  type CallName,
  type Envelope,
  type ParsedRequestOf,
  type ResponseOf
} from '../../common/contract'
import { UserError } from '../core/errors'

export type Handler<K extends CallName> = (request: ParsedRequestOf<K>) => Promise<ResponseOf<K>>
export type Handlers = { [K in CallName]: Handler<K> }

export interface DispatchOptions {
  /** Check responses against the contract too (on in tests and development; cheap for our sizes). */
  validateResponses?: boolean
  /** Where bugs (not user errors) are logged with their stack. */
  logError?: (message: string) => void
}

/** Parses an untrusted request; returns the parsed value or an error envelope naming the bad fields. */
export function parseRequest<K extends CallName>(
  name: K,
  raw: unknown
): { ok: true; value: ParsedRequestOf<K> } | { ok: false; error: { message: string; user: boolean } } {
  const result = (calls[name].request as z.ZodType).safeParse(raw ?? {})
  if (result.success) return { ok: true, value: result.data as ParsedRequestOf<K> }
  return {
    ok: false,
    error: { message: `${name}: invalid request: ${describeIssues(result.error)}`, user: false }
  }
}

export async function dispatch<K extends CallName>(
  handlers: Handlers,
  name: K,
  raw: unknown,
  options: DispatchOptions = {}
): Promise<Envelope<ResponseOf<K>>> {
  const parsed = parseRequest(name, raw)
  if (!parsed.ok) return parsed
  return runHandler(handlers, name, parsed.value, options)
}

/** Runs the handler on a request `parseRequest` accepted (for a transport that answers invalid requests itself). */
export async function runHandler<K extends CallName>(
  handlers: Handlers,
  name: K,
  request: ParsedRequestOf<K>,
  options: DispatchOptions = {}
): Promise<Envelope<ResponseOf<K>>> {
  try {
    const value = await handlers[name](request)
    if (options.validateResponses) checkResponse(name, value)
    return { ok: true, value }
  } catch (err) {
    return { ok: false, error: toWireError(err, options.logError) }
  }
}

export function toWireError(
  err: unknown,
  logError?: (message: string) => void
): { message: string; user: boolean } {
  if (err instanceof UserError) return { message: err.message, user: true }
  const message = err instanceof Error ? err.message : String(err)
  logError?.(err instanceof Error && err.stack ? err.stack : message)
  return { message: `internal error: ${message}`, user: false }
}

function checkResponse(name: CallName, value: unknown): void {
  const spec = calls[name]
  const schema = (spec.kind === 'json' ? spec.response : spec.meta) as z.ZodType
  const checked = spec.kind === 'json' ? value : (value as { meta: unknown }).meta
  const result = schema.safeParse(checked)
  if (!result.success)
    throw new Error(`${name}: response breaks the contract: ${describeIssues(result.error)}`)
  if (spec.kind === 'binary' && !((value as { data: unknown }).data instanceof Uint8Array)) {
    throw new Error(`${name}: binary response without a Uint8Array payload`)
  }
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(request)'}: ${issue.message}`)
    .join('; ')
}
