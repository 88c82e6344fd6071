// The web host: the built renderer plus the contract over HTTP (POST /api/call/<name>) and one
// WebSocket for events (/api/events), behind the access checks of access.ts.
import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { WebSocketServer, type WebSocket } from 'ws'
import { calls, HTTP_EVENTS_PATH, isCallName, type EventName } from '../../common/contract'
import { BINARY_CONTENT_TYPE, frameHeader } from '../../common/contract/binary-frame'
import { CONTENT_SECURITY_POLICY } from '../../common/csp'
import { checkAccess, isLoopbackAddress, newToken, tokenCookieName, type AccessPolicy } from './access'
import { parseRequest, runHandler, type Handlers } from '../backend/dispatch'
import { HttpError, isClientGone } from './http-error'
import { serveStatic } from './static-files'

export interface WebHostOptions {
  handlers: Handlers
  /** Back-end events to forward to every connected page. */
  subscribe?: (listener: (event: EventName, payload: unknown) => void) => () => void
  rendererDir: string
  host?: string
  /** 0 picks a free port. */
  port?: number
  token?: string
  validateResponses?: boolean
  logError?: (message: string) => void
}

export interface WebHost {
  /** The URL to open, with the token (Jupyter style). */
  url: string
  origin: string
  token: string
  port: number
  close(): Promise<void>
}

const MAX_REQUEST_BYTES = 1 << 20
const KEEP_ALIVE_MS = 60_000

export async function startWebHost(options: WebHostOptions): Promise<WebHost> {
  const host = options.host ?? '127.0.0.1'
  const token = options.token ?? newToken()
  const policy: AccessPolicy = { token, port: 0, loopbackOnly: isLoopbackAddress(host) }
  const sockets = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 })
  const logBug = (err: unknown) =>
    options.logError?.(err instanceof Error ? (err.stack ?? err.message) : String(err))
  // Every failure of a request ends here: a client's mistake is its 4xx, a client that left gets
  // nothing, and only a bug of ours is a 500 with its stack in the log.
  const server = createServer((req, res) => {
    handleRequest(req, res).catch((err: unknown) => {
      if (isClientGone(err)) return void res.destroy()
      if (!(err instanceof HttpError)) logBug(err)
      if (res.headersSent) return void res.destroy()
      if (!(err instanceof HttpError)) return sendText(res, 500, 'internal error')
      if (err.closeConnection) res.setHeader('connection', 'close')
      sendText(res, err.status, err.message)
    })
  })

  async function handleRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    setSecurityHeaders(res)
    const url = requestUrl(req.url)
    const access = checkAccess(policy, req.headers, url)
    if (!access.allowed) return sendText(res, access.status, access.reason)

    if (access.tokenFromQuery && req.method === 'GET' && !url.pathname.startsWith('/api/')) {
      // Trade the token in the URL for a cookie, and drop it from the address bar and history.
      res.setHeader(
        'set-cookie',
        `${tokenCookieName(policy.port)}=${token}; HttpOnly; SameSite=Strict; Path=/`
      )
      url.searchParams.delete('token')
      res.statusCode = 303
      res.setHeader('location', url.pathname + (url.search || ''))
      return void res.end()
    }

    const callMatch = /^\/api\/call\/([A-Za-z]+)$/.exec(url.pathname)
    if (callMatch) return handleCall(callMatch[1], req, res)
    if (url.pathname.startsWith('/api/')) return sendText(res, 404, 'not found')
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendText(res, 405, 'method not allowed')
    if (await serveStatic(options.rendererDir, url.pathname, res)) return
    if (url.pathname === '/') {
      return sendText(
        res,
        503,
        `the renderer is not built (${options.rendererDir} is missing); run \`npx electron-vite build\``
      )
    }
    sendText(res, 404, 'not found')
  }

  /** POST /api/call/<name>: a JSON request checked against the contract, the handler's envelope back. */
  async function handleCall(name: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!isCallName(name)) return sendText(res, 404, `no such call: ${name}`)
    if (req.method !== 'POST') return sendText(res, 405, 'calls are POST requests')
    if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
      return sendText(res, 415, 'calls take an application/json body')
    }
    const body = await readBody(req)
    let raw: unknown
    try {
      raw = body.length ? JSON.parse(body) : {}
    } catch {
      return sendJson(res, 400, {
        ok: false,
        error: { message: `${name}: the request is not JSON`, user: false }
      })
    }
    // a request that breaks the contract is the caller's mistake (400 naming the fields), not our bug
    const parsed = parseRequest(name, raw)
    if (!parsed.ok) return sendJson(res, 400, parsed)
    const envelope = await runHandler(options.handlers, name, parsed.value, options)
    if (envelope.ok && calls[name].kind === 'binary') {
      const { meta, data } = envelope.value as { meta: unknown; data: Uint8Array }
      const header = frameHeader(meta)
      res.statusCode = 200
      res.setHeader('content-type', BINARY_CONTENT_TYPE)
      res.setHeader('content-length', header.byteLength + data.byteLength)
      res.setHeader('cache-control', 'no-store')
      // headers, frame header and pixels leave in one writev, the pixels straight from the decoder's buffer
      res.cork()
      res.write(header)
      return void res.end(data)
    }
    sendJson(res, envelope.ok ? 200 : envelope.error.user ? 422 : 500, envelope)
  }

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Node hands the socket over without its error listener: a client resetting it mid-handshake
    // would otherwise be an uncaught error that ends the process.
    socket.on('error', () => socket.destroy())
    try {
      const url = requestUrl(req.url)
      const access = checkAccess(policy, req.headers, url)
      if (!access.allowed) return refuseUpgrade(socket, access.status)
      if (url.pathname !== HTTP_EVENTS_PATH) return refuseUpgrade(socket, 404)
      sockets.handleUpgrade(req, socket, head, (ws) => {
        // a page that breaks the protocol (an unmasked or oversized frame) loses its socket, nothing more
        ws.on('error', () => ws.terminate())
        sockets.emit('connection', ws, req)
      })
    } catch (err) {
      if (!(err instanceof HttpError)) logBug(err)
      refuseUpgrade(socket, err instanceof HttpError ? err.status : 500)
    }
  })

  const unsubscribe = options.subscribe?.((event, payload) => {
    const message = JSON.stringify({ event, payload })
    for (const client of sockets.clients as Set<WebSocket>)
      if (client.readyState === client.OPEN) client.send(message)
  })

  // The page's connection stays open while the user looks at an image, so the next one skips the handshake.
  server.keepAliveTimeout = KEEP_ALIVE_MS
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  // e.g. accept() failing with EMFILE under a flood of connections: log it, keep serving
  server.on('error', (err) => options.logError?.(`web host: ${err.message}`))
  policy.port = (server.address() as AddressInfo).port
  const urlHost = host.includes(':') ? `[${host}]` : host
  const origin = `http://${urlHost === '0.0.0.0' ? '127.0.0.1' : urlHost}:${policy.port}`
  return {
    url: `${origin}/?token=${token}`,
    origin,
    token,
    port: policy.port,
    close: async () => {
      unsubscribe?.()
      for (const client of sockets.clients) client.terminate()
      sockets.close()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}

function setSecurityHeaders(res: ServerResponse): void {
  // the Electron app sends the same policy (common/csp.ts); 'self' covers the event socket
  res.setHeader('content-security-policy', CONTENT_SECURITY_POLICY)
  res.setHeader('x-content-type-options', 'nosniff')
  res.setHeader('x-frame-options', 'DENY')
  res.setHeader('referrer-policy', 'no-referrer')
  res.setHeader('cross-origin-opener-policy', 'same-origin')
  res.setHeader('cross-origin-resource-policy', 'same-origin')
}

/** The request target as a URL of this server: only a path (not the absolute form, not `*`). */
function requestUrl(target: string | undefined): URL {
  if (!target?.startsWith('/')) throw new HttpError(400, 'malformed URL: the request target must be a path')
  try {
    // never resolved against a base: `//%` is a path here, not a host
    return new URL(`http://host${target}`)
  } catch {
    throw new HttpError(400, 'malformed URL')
  }
}

/**
 * The body as text, at most MAX_REQUEST_BYTES (413 past it, declared or streamed). Read with
 * listeners rather than `for await`, whose early exit would destroy the socket before the 413 is sent.
 */
function readBody(req: IncomingMessage): Promise<string> {
  const tooLarge = () =>
    new HttpError(413, `the request body is larger than ${MAX_REQUEST_BYTES >> 20} MiB`, true)
  if (Number(req.headers['content-length'] ?? 0) > MAX_REQUEST_BYTES) return Promise.reject(tooLarge())
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size <= MAX_REQUEST_BYTES) return void chunks.push(chunk)
      req.off('data', onData)
      reject(tooLarge())
    }
    req.on('data', onData)
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    // the client went away mid-body: ECONNRESET ("aborted")
    req.once('error', reject)
  })
}

/** Answers a refused WebSocket upgrade on the raw socket (no ServerResponse exists for it). */
function refuseUpgrade(socket: Duplex, status: number): void {
  if (!socket.writable) return void socket.destroy()
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`)
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value)
  res.statusCode = status
  res.setHeader('content-type', 'application/json; charset=utf-8')
  res.setHeader('cache-control', 'no-store')
  res.end(body)
}

function sendText(res: ServerResponse, status: number, message: string): void {
  res.statusCode = status
  res.setHeader('content-type', 'text/plain; charset=utf-8')
  res.end(message + '\n')
}
