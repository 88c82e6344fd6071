// One HTTP request to a DICOMweb server with Node's fetch: auth header, an idle timeout (no byte for
// `timeoutMs`, so a large study can stream for minutes while a stalled server still fails), the
// caller's AbortSignal, and every failure turned into one UserError naming the URL and the reason.
// Secrets travel only in the Authorization header and are scrubbed from any text we show.
import { UserError } from '../errors'

export type DicomwebAuth =
  { kind: 'none' } | { kind: 'basic'; user: string; password: string } | { kind: 'bearer'; token: string }

export interface HttpOptions {
  auth: DicomwebAuth
  /** Longest wait for the response or for the next chunk of its body. */
  timeoutMs: number
  signal?: AbortSignal
}

/** How much of a server's error text goes into a message. */
const SERVER_TEXT_CHARS = 300

/** A request that failed in a way the user can act on; `status` is set for HTTP errors. */
export class DicomwebError extends UserError {
  constructor(
    readonly url: string,
    readonly reason: string,
    readonly status: number | null = null
  ) {
    super(`${url}: ${reason}`)
  }
}

export function authHeader(auth: DicomwebAuth): Record<string, string> {
  if (auth.kind === 'basic')
    return { authorization: `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}` }
  if (auth.kind === 'bearer') return { authorization: `Bearer ${auth.token}` }
  return {}
}

/** The strings that must never be shown: the secret itself and the header value made from it. */
export function secretsOf(auth: DicomwebAuth): string[] {
  if (auth.kind === 'basic')
    return [auth.password, Buffer.from(`${auth.user}:${auth.password}`).toString('base64')].filter(Boolean)
  if (auth.kind === 'bearer') return [auth.token]
  return []
}

export function scrub(text: string, secrets: readonly string[]): string {
  let out = text
  for (const secret of secrets) if (secret.length >= 3) out = out.split(secret).join('***')
  return out
}

/** A response whose body is read through `chunks()`, each chunk re-arming the idle timeout. */
export interface OpenResponse {
  url: string
  status: number
  contentType: string
  headers: Headers
  chunks(): AsyncIterable<Uint8Array>
  text(): Promise<string>
  /** Stops the transfer (e.g. after a part parser gave up); safe to call twice. */
  cancel(): void
}

/**
 * GETs `url` and returns the open response once its headers are in, or throws a DicomwebError:
 * HTTP 4xx/5xx (with the server's text, clipped), refused, unknown host, TLS, timeout, cancelled.
 */
export async function open(url: string, accept: string, options: HttpOptions): Promise<OpenResponse> {
  const controller = new AbortController()
  const secrets = secretsOf(options.auth)
  let timedOut = false
  let timer: NodeJS.Timeout | null = null
  const arm = () => {
    if (timer) clearTimeout(timer)
    timer = setTimeout(() => {
      timedOut = true
      controller.abort()
    }, options.timeoutMs)
  }
  const disarm = () => {
    if (timer) clearTimeout(timer)
    timer = null
  }
  const onAbort = () => controller.abort()
  options.signal?.addEventListener('abort', onAbort, { once: true })
  const release = () => {
    disarm()
    options.signal?.removeEventListener('abort', onAbort)
  }
  const fail = (err: unknown): never => {
    release()
    if (err instanceof DicomwebError) throw err
    if (options.signal?.aborted) throw new DicomwebError(url, 'cancelled')
    if (timedOut) throw new DicomwebError(url, `no answer within ${seconds(options.timeoutMs)} (timeout)`)
    throw new DicomwebError(url, scrub(networkReason(err), secrets))
  }

  options.signal?.throwIfAborted()
  arm()
  let response: Response
  try {
    response = await fetch(url, {
      headers: { accept, ...authHeader(options.auth) },
      signal: controller.signal,
      redirect: 'follow'
    })
  } catch (err) {
    return fail(err)
  }
  if (!response.ok) {
    const body = await readClipped(response).catch(() => '')
    release()
    const text = scrub(body, secrets)
    throw new DicomwebError(
      url,
      `HTTP ${response.status} ${response.statusText}${httpHint(response.status)}${text ? `: ${text}` : ''}`,
      response.status
    )
  }
  arm()
  let done = false
  const result: OpenResponse = {
    url,
    status: response.status,
    contentType: response.headers.get('content-type') ?? '',
    headers: response.headers,
    async *chunks() {
      if (!response.body) return release()
      const reader = response.body.getReader()
      try {
        for (;;) {
          const { value, done: ended } = await reader.read()
          if (ended) break
          arm()
          yield value
        }
        done = true
      } catch (err) {
        fail(err)
      } finally {
        release()
        if (!done) controller.abort()
        reader.releaseLock()
      }
    },
    async text() {
      let text = ''
      const decoder = new TextDecoder()
      for await (const chunk of result.chunks()) text += decoder.decode(chunk, { stream: true })
      return text + decoder.decode()
    },
    cancel() {
      release()
      controller.abort()
    }
  }
  return result
}

async function readClipped(response: Response): Promise<string> {
  const text = (await response.text()).replace(/\s+/g, ' ').trim()
  return text.length > SERVER_TEXT_CHARS ? `${text.slice(0, SERVER_TEXT_CHARS)}…` : text
}

function httpHint(status: number): string {
  if (status === 401) return ' (wrong or missing user name/password or token)'
  if (status === 403) return ' (this account may not read it)'
  if (status === 404) return ' (not found: is the URL the server’s DICOMweb root, e.g. …/dicom-web?)'
  return ''
}

const NETWORK_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused (is the server running, and is the port right?)',
  ECONNRESET: 'the server closed the connection',
  ENOTFOUND: 'unknown host (DNS lookup failed)',
  EAI_AGAIN: 'DNS lookup failed (temporary; check the network)',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_SOCKET: 'the connection broke',
  UND_ERR_HEADERS_TIMEOUT: 'no answer (timeout)',
  UND_ERR_BODY_TIMEOUT: 'the transfer stalled (timeout)',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'TLS: the server’s certificate is self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'TLS: a self-signed certificate in the chain',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS: the certificate cannot be verified',
  CERT_HAS_EXPIRED: 'TLS: the server’s certificate has expired',
  ERR_TLS_CERT_ALTNAME_INVALID: 'TLS: the certificate is for another host name',
  EPROTO: 'TLS handshake failed (is it really https?)',
  ERR_SSL_WRONG_VERSION_NUMBER: 'TLS handshake failed (is it really https?)'
}

/** Node's fetch says `fetch failed` and hides the reason in `cause` (sometimes two levels down). */
export function networkReason(err: unknown): string {
  let current: unknown = err
  for (let depth = 0; depth < 4 && current; depth++) {
    const code = (current as { code?: unknown }).code
    if (typeof code === 'string') {
      const known =
        NETWORK_REASONS[code] ?? (code.startsWith('ERR_TLS') || code.includes('CERT') ? `TLS: ${code}` : null)
      if (known) return known
      const message = (current as Error).message
      return message ? `${code}: ${message}` : code
    }
    current = (current as { cause?: unknown }).cause
  }
  return err instanceof Error ? err.message : String(err)
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`
}
