import { EventEmitter } from 'node:events'
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import type { EventName } from '../../common/contract'
import { createClient } from '../../common/contract/client'
import { httpTransport } from '../../common/contract/http'
import type { Handlers } from '../../main/backend/dispatch'
import { startWebHost, type WebHost } from '../../main/host/server'
import { send } from './helpers'

const BIG_IMAGE = Int16Array.from({ length: 2048 * 2048 }, (_, i) => ((i * 7919) % 65536) - 32768)
const events = new EventEmitter()
const handlers = {
  appInfo: async () => ({
    version: '9.9.9',
    host: 'web',
    workspace: '/w',
    platform: 'linux',
    nativeDialog: false
  }),
  /** A 2k x 2k 16-bit image: the payload arrives in many chunks and is reassembled by the client. */
  imagePixels: async () => ({ meta: { imageId: 'big' }, data: new Uint8Array(BIG_IMAGE.buffer) }),
  thumbnail: async ({ size }: { size: number }) => ({
    meta: { width: size, height: 2 },
    data: Uint8Array.from({ length: size * 2 }, (_, i) => i)
  })
} as unknown as Handlers

let host: WebHost
let rendererDir: string

beforeAll(async () => {
  rendererDir = mkdtempSync(join(tmpdir(), 'cxr-host-'))
  mkdirSync(join(rendererDir, 'assets'))
  writeFileSync(join(rendererDir, 'index.html'), '<!doctype html><title>CXR Studio</title>')
  writeFileSync(join(rendererDir, 'assets', 'app.js'), 'console.log(1)')
  writeFileSync(join(tmpdir(), 'cxr-host-secret.txt'), 'secret')
  host = await startWebHost({
    handlers,
    rendererDir,
    port: 0,
    subscribe: (listener) => {
      const forward = (event: EventName, payload: unknown) => listener(event, payload)
      events.on('event', forward)
      return () => events.off('event', forward)
    }
  })
})
afterAll(async () => {
  await host.close()
  rmSync(rendererDir, { recursive: true, force: true })
  rmSync(join(tmpdir(), 'cxr-host-secret.txt'), { force: true })
})

const withToken = (extra: Record<string, string> = {}) => ({ authorization: `token ${host.token}`, ...extra })
const call = (name: string, body: unknown, headers: Record<string, string> = withToken()) =>
  send(host, `/api/call/${name}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body)
  })

describe('web host access', () => {
  it('listens on loopback and prints a URL carrying a long random token', () => {
    expect(host.url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${host.port}/\\?token=[0-9a-f]{48}$`))
  })

  it('refuses the page and the API without the token', async () => {
    expect((await send(host, '/')).status).toBe(401)
    expect((await send(host, '/assets/app.js')).status).toBe(401)
    expect((await call('appInfo', {}, {})).status).toBe(401)
  })

  it('refuses a wrong token', async () => {
    const reply = await call('appInfo', {}, { authorization: `token ${'0'.repeat(48)}` })
    expect(reply.status).toBe(401)
    expect(reply.body).toContain('wrong access token')
  })

  it('trades the token in the URL for an HttpOnly cookie and drops it from the address', async () => {
    const reply = await send(host, `/?token=${host.token}`)
    expect(reply.status).toBe(303)
    expect(reply.headers.location).toBe('/')
    const cookie = String(reply.headers['set-cookie'])
    expect(cookie).toContain(`${host.token}`)
    expect(cookie).toMatch(/HttpOnly/)
    expect(cookie).toMatch(/SameSite=Strict/)
    const page = await send(host, '/', { headers: { cookie: cookie.split(';')[0] } })
    expect(page.status).toBe(200)
    expect(page.body).toContain('<title>CXR Studio</title>')
    expect(page.headers['content-security-policy']).toContain("default-src 'self'")
  })

  it('refuses requests from another origin even with the token', async () => {
    const reply = await call('appInfo', {}, withToken({ origin: 'https://evil.example' }))
    expect(reply.status).toBe(403)
    expect(reply.body).toContain('origin https://evil.example')
    expect((await call('appInfo', {}, withToken({ origin: `http://127.0.0.1:${host.port}` }))).status).toBe(
      200
    )
  })

  it('refuses a foreign Host header (DNS rebinding) on a loopback host', async () => {
    const reply = await send(host, '/', { headers: withToken({ host: `attacker.example:${host.port}` }) })
    expect(reply.status).toBe(403)
    expect((await send(host, '/', { headers: withToken({ host: `localhost:${host.port}` }) })).status).toBe(
      200
    )
  })

  it('serves nothing outside the renderer folder', async () => {
    for (const path of [
      '/../cxr-host-secret.txt',
      '/%2e%2e/cxr-host-secret.txt',
      '/assets/..%2f..%2fcxr-host-secret.txt'
    ]) {
      const reply = await send(host, path, { headers: withToken() })
      expect(reply.body, path).not.toContain('secret')
    }
  })
})

describe('web host calls and events', () => {
  it('answers calls through the typed client and keeps bad payloads away from handlers', async () => {
    const api = createClient(httpTransport({ baseUrl: host.origin, token: host.token }))
    await expect(api.appInfo()).resolves.toMatchObject({ version: '9.9.9', host: 'web' })
    await expect(api.listImages({ datasetId: 'nope' } as never)).rejects.toThrow(
      /listImages: invalid request: datasetId/
    )
  })

  it('sends pixels as one binary frame, not JSON', async () => {
    const reply = await call('thumbnail', { datasetId: '0123456789abcdef', imageId: 'abc', size: 64 })
    expect(reply.headers['content-type']).toBe('application/x-cxr-frame')
    const api = createClient(httpTransport({ baseUrl: host.origin, token: host.token }))
    const thumb = await api.thumbnail({ datasetId: '0123456789abcdef', imageId: 'abc', size: 64 })
    expect(thumb.meta).toEqual({ width: 64, height: 2 })
    expect(Array.from(thumb.data.slice(0, 4))).toEqual([0, 1, 2, 3])
    expect(thumb.data.length).toBe(128)
  })

  it('delivers a 2k x 2k 16-bit image byte for byte, viewable as Int16Array without a copy', async () => {
    const api = createClient(httpTransport({ baseUrl: host.origin, token: host.token }))
    const { meta, data } = await api.imagePixels({ datasetId: '0123456789abcdef', imageId: 'big' })
    expect(meta).toEqual({ imageId: 'big' })
    expect(data.byteLength).toBe(BIG_IMAGE.byteLength)
    expect(data.byteOffset % 8).toBe(0)
    const pixels = new Int16Array(data.buffer, data.byteOffset, data.byteLength / 2)
    // compared as bytes: a deep equality over 4M elements takes seconds
    expect(
      Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength).equals(Buffer.from(BIG_IMAGE.buffer))
    ).toBe(true)
    expect([pixels[0], pixels[1], pixels[2048 * 2048 - 1]]).toEqual([
      BIG_IMAGE[0],
      BIG_IMAGE[1],
      BIG_IMAGE.at(-1)
    ])
  })

  it('only takes POSTed JSON calls', async () => {
    expect((await send(host, '/api/call/appInfo', { headers: withToken() })).status).toBe(405)
    expect(
      (
        await send(host, '/api/call/appInfo', {
          method: 'POST',
          headers: withToken({ 'content-type': 'text/plain' }),
          body: '{}'
        })
      ).status
    ).toBe(415)
    expect((await call('noSuchCall', {})).status).toBe(404)
  })

  it('streams events to a socket with the token and refuses one without it', async () => {
    const refused = new WebSocket(`ws://127.0.0.1:${host.port}/api/events`)
    const refusal = await new Promise<string>((resolve) => {
      refused.on('unexpected-response', (_req, res) => resolve(String(res.statusCode)))
      refused.on('open', () => resolve('open'))
    })
    expect(refusal).toBe('401')

    const crossOrigin = new WebSocket(`ws://127.0.0.1:${host.port}/api/events?token=${host.token}`, {
      origin: 'https://evil.example'
    })
    const crossRefusal = await new Promise<string>((resolve) => {
      crossOrigin.on('unexpected-response', (_req, res) => resolve(String(res.statusCode)))
      crossOrigin.on('open', () => resolve('open'))
    })
    expect(crossRefusal).toBe('403')

    const socket = new WebSocket(`ws://127.0.0.1:${host.port}/api/events?token=${host.token}`)
    await new Promise((resolve) => socket.on('open', resolve))
    const received = new Promise<unknown>((resolve) =>
      socket.on('message', (data) => resolve(JSON.parse(String(data))))
    )
    events.emit('event', 'progress', { jobId: 'open-1', stage: 'index', done: 1, total: 2 })
    expect(await received).toEqual({
      event: 'progress',
      payload: { jobId: 'open-1', stage: 'index', done: 1, total: 2 }
    })
    socket.close()
  })
})
