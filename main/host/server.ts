// The web host: the built renderer plus the contract over HTTP (POST /api/call/<name>) and one
// WebSocket for events (/api/events), behind the access checks of access.ts.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { WebSocketServer, type WebSocket } from 'ws'
import { calls, HTTP_EVENTS_PATH, isCallName, type EventName } from '../../common/contract'
import { BINARY_CONTENT_TYPE, frameHeader } from '../../common/contract/binary-frame'
import { CONTENT_SECURITY_POLICY } from '../../common/csp'
import { checkAccess, isLoopbackAddress, newToken, tokenCookieName, type AccessPolicy } from './access'
import { dispatch, type Handlers } from '../backend/dispatch'
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
  const server = createServer((req, res) => {
    handleRequest(req, res).catch((err) => {
      options.logError?.(err instanceof Error ? (err.stack ?? err.message) : String(err))
      if (!res.headersSent) sendText(res, 500, 'internal error')
      else res.destroy()
    })
  })

  async function handleRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://placeholder')
    setSecurityHeaders(res)
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
    if (callMatch) {
      const name = callMatch[1]
      if (!isCallName(name)) return sendText(res, 404, `no such call: ${name}`)
      if (req.method !== 'POST') return sendText(res, 405, 'calls are POST requests')
      if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
        return sendText(res, 415, 'calls take an application/json body')
      }
      const body = await readBody(req)
      let request: unknown
      try {
        request = body.length ? JSON.parse(body) : {}
      } catch {
        return sendJson(res, 400, {
          ok: false,
          error: { message: `${name}: the request is not JSON`, user: false }
        })
      }
      const envelope = await dispatch(options.handlers, name, request, options)
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
      return sendJson(res, envelope.ok ? 200 : envelope.error.user ? 422 : 500, envelope)
    }
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

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://placeholder')
    const access = checkAccess(policy, req.headers, url)
    if (url.pathname !== HTTP_EVENTS_PATH || !access.allowed) {
      const status = access.allowed ? 404 : access.status
      const reason = { 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found' }[status]
      socket.end(`HTTP/1.1 ${status} ${reason}\r\nconnection: close\r\n\r\n`)
      return
    }
    sockets.handleUpgrade(req, socket, head, (ws) => sockets.emit('connection', ws, req))
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

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > MAX_REQUEST_BYTES) throw new Error('request body too large')
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
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
