// What the host tests share: a real web host on port 0 with fake handlers and a captured error log,
// requests through node:http, and raw-socket exchanges for what an HTTP client would refuse to send.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Handlers } from '../../main/backend/dispatch'
import { UserError } from '../../main/core/errors'
import { startWebHost, type WebHost } from '../../main/host/server'

export interface Reply {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

export function send(
  host: WebHost,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: host.port, path, method: options.method ?? 'GET', headers: options.headers },
      (res) => {
        let body = ''
        res.on('data', (chunk) => (body += chunk))
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }))
      }
    )
    req.on('error', reject)
    req.end(options.body)
  })
}

export interface RawExchange {
  /** Everything the server wrote before it closed the connection (or before the timeout). */
  response: string
  /** The status of the first response, or null when the server closed without answering. */
  status: number | null
  /** False when the server kept the connection open past the timeout. */
  closed: boolean
}

const STATUS_LINE = /^HTTP\/1\.1 (\d{3}) [^\r\n]*\r\n/

/**
 * Writes `bytes` as they are, half-closes, and collects the answer until the server closes. A
 * response must start with a status line and end its header block, or the exchange is refused.
 */
export function rawExchange(port: number, bytes: string | Buffer, timeoutMs = 2000): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port })
    const chunks: Buffer[] = []
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      socket.destroy()
    }, timeoutMs)
    socket.on('data', (chunk) => chunks.push(chunk))
    // a server that resets the connection is also a server that closed it
    socket.on('error', () => undefined)
    socket.on('close', () => {
      clearTimeout(timer)
      const closed = !timedOut
      const response = Buffer.concat(chunks).toString('latin1')
      if (!response) return resolve({ response, status: null, closed })
      const match = STATUS_LINE.exec(response)
      if (!match || !response.includes('\r\n\r\n'))
        return reject(new Error(`not an HTTP response: ${JSON.stringify(response.slice(0, 200))}`))
      resolve({ response, status: Number(match[1]), closed })
    })
    socket.write(bytes)
    socket.end()
  })
}

/** Handlers of a test host: a few real answers, a user error, and one bug injected on purpose. */
export function fakeHandlers(): Handlers {
  const known: Partial<Handlers> = {
    appInfo: async () => ({
      version: '9.9.9',
      host: 'web',
      workspace: '/w',
      platform: 'linux',
      nativeDialog: false
    }),
    listJobs: async () => [],
    openDataset: async ({ path }) => {
      throw new UserError(`${path}: no such folder`)
    },
    eda: async () => {
      throw new Error('injected bug')
    },
    thumbnail: async ({ size }) => ({
      meta: { width: size, height: 1 },
      data: new Uint8Array(size)
    })
  }
  return new Proxy(known as Handlers, {
    get: (target, name: string) =>
      (target as Record<string, unknown>)[name] ??
      (async () => {
        throw new UserError(`${name}: not served by this test host`)
      })
  })
}

export interface TestHost {
  host: WebHost
  /** What the host logged as errors (stacks of bugs), in order. */
  logged: string[]
  withToken(extra?: Record<string, string>): Record<string, string>
  close(): Promise<void>
}

export async function startTestHost(handlers: Handlers = fakeHandlers()): Promise<TestHost> {
  const rendererDir = mkdtempSync(join(tmpdir(), 'cxr-host-'))
  mkdirSync(join(rendererDir, 'assets'))
  writeFileSync(join(rendererDir, 'index.html'), '<!doctype html><title>CXR Studio</title>')
  // big enough that a response is still being written when a client goes away
  writeFileSync(join(rendererDir, 'assets', 'big.js'), Buffer.alloc(8 << 20, 0x20))
  const logged: string[] = []
  const host = await startWebHost({
    handlers,
    rendererDir,
    port: 0,
    validateResponses: true,
    logError: (message) => logged.push(message)
  })
  return {
    host,
    logged,
    withToken: (extra = {}) => ({ authorization: `token ${host.token}`, ...extra }),
    close: async () => {
      await host.close()
      rmSync(rendererDir, { recursive: true, force: true })
    }
  }
}
