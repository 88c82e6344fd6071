// Every error path of the web host answers a 4xx naming the reason, logs no stack, and leaves the
// host answering: bad cookies, malformed URLs, oversized or broken bodies, wrong schemas, bad
// upgrades and clients that go away. Only a bug in a handler is a 500 with its stack in the log.
import { existsSync, readdirSync } from 'node:fs'
import { request } from 'node:http'
import { connect } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { tokenCookieName } from '../../main/host/access'
import { rawExchange, send, startTestHost, type TestHost } from './helpers'

let test: TestHost
beforeAll(async () => {
  test = await startTestHost()
})
afterAll(() => test.close())
afterEach(async () => {
  // whatever the case did, the host still answers a valid request and logged no stack
  const alive = await send(test.host, '/api/call/appInfo', {
    method: 'POST',
    headers: test.withToken({ 'content-type': 'application/json' }),
    body: '{}'
  })
  expect(alive.status).toBe(200)
  expect(test.logged).toEqual([])
})

const call = (name: string, body: string, headers: Record<string, string> = {}) =>
  send(test.host, `/api/call/${name}`, {
    method: 'POST',
    headers: test.withToken({ 'content-type': 'application/json', ...headers }),
    body
  })

function upgradeRequest(path: string, headers: Record<string, string>, method = 'GET'): string {
  const lines = [
    `${method} ${path} HTTP/1.1`,
    `Host: 127.0.0.1:${test.host.port}`,
    'Connection: Upgrade',
    'Upgrade: websocket',
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`)
  ]
  return lines.join('\r\n') + '\r\n\r\n'
}
const WS_HEADERS = { 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version': '13' }

describe('a token cookie that is not percent-encoded properly', () => {
  const planted = () => `${tokenCookieName(test.host.port)}=%zz`

  it('is no token on a WebSocket upgrade: 401, and the host stays up', async () => {
    const reply = await rawExchange(
      test.host.port,
      upgradeRequest('/api/events', { ...WS_HEADERS, Cookie: planted() })
    )
    expect(reply.status).toBe(401)
  })

  it('is no token over HTTP: a request without another token is 401, not 500', async () => {
    const reply = await send(test.host, '/', { headers: { cookie: planted() } })
    expect(reply.status).toBe(401)
    expect(reply.body).toMatch(/access token; open the URL printed by `cxr-studio serve`/)
  })

  it('does not lock out the user: the header token or the real cookie next to it still works', async () => {
    expect((await send(test.host, '/', { headers: test.withToken({ cookie: planted() }) })).status).toBe(200)
    const both = `${planted()}; ${tokenCookieName(test.host.port)}=${test.host.token}`
    expect((await send(test.host, '/', { headers: { cookie: both } })).status).toBe(200)
    const socket = new WebSocket(`ws://127.0.0.1:${test.host.port}/api/events`, { headers: { cookie: both } })
    await new Promise<void>((resolve, reject) => {
      socket.on('open', () => resolve())
      socket.on('unexpected-response', (_req, res) => reject(new Error(`refused: ${res.statusCode}`)))
    })
    socket.close()
  })
})

describe('malformed request targets', () => {
  it.each(['//%', '/%zz', '/assets/%E0%A4%A', '/%zz?token=x'])('%s is a 400 naming the URL', async (path) => {
    const reply = await rawExchange(
      test.host.port,
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${test.host.port}\r\nAuthorization: token ${test.host.token}\r\n\r\n`
    )
    expect(reply.status).toBe(400)
    expect(reply.response).toMatch(/malformed URL/)
  })

  it('refuses a target that is not a path of this server (absolute form, *)', async () => {
    for (const target of [`http://127.0.0.1:${test.host.port}/`, '*']) {
      const reply = await rawExchange(
        test.host.port,
        `OPTIONS ${target} HTTP/1.1\r\nHost: 127.0.0.1:${test.host.port}\r\nAuthorization: token ${test.host.token}\r\n\r\n`
      )
      expect(reply.status, target).toBe(400)
    }
  })

  it('answers a very long URL, raw NUL bytes and an encoded NUL with a 4xx', async () => {
    const long = await rawExchange(test.host.port, `GET /${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`)
    expect(long.status).toBe(431)
    const nul = await rawExchange(
      test.host.port,
      `GET /\0 HTTP/1.1\r\nHost: 127.0.0.1:${test.host.port}\r\n\r\n`
    )
    expect(nul.status).toBe(400)
    const nulHeader = await rawExchange(test.host.port, `GET / HTTP/1.1\r\nHost: 127.0.0.1\0\r\n\r\n`)
    expect(nulHeader.status).toBe(400)
    expect((await send(test.host, '/index.html%00', { headers: test.withToken() })).status).toBe(404)
  })
})

describe('request bodies', () => {
  it('refuses a declared body over the limit with 413 before reading it', async () => {
    const reply = await rawExchange(
      test.host.port,
      [
        'POST /api/call/appInfo HTTP/1.1',
        `Host: 127.0.0.1:${test.host.port}`,
        `Authorization: token ${test.host.token}`,
        'Content-Type: application/json',
        `Content-Length: ${2 << 20}`,
        '',
        '{'
      ].join('\r\n')
    )
    expect(reply.status).toBe(413)
    expect(reply.response).toMatch(/larger than 1 MiB/)
  })

  it('refuses a chunked body that grows over the limit with 413 and closes the connection', async () => {
    const reply = await new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: test.host.port,
          path: '/api/call/appInfo',
          method: 'POST',
          headers: test.withToken({ 'content-type': 'application/json' })
        },
        (res) => {
          res.resume()
          resolve({ status: res.statusCode!, connection: res.headers.connection })
        }
      )
      req.on('error', reject)
      for (let i = 0; i < 20; i++) req.write(Buffer.alloc(64 << 10, 0x20))
      req.end()
    })
    expect(reply).toEqual({ status: 413, connection: 'close' })
  })

  it('names the call and the field of a request that breaks the contract, as a 400', async () => {
    const reply = await call('listImages', JSON.stringify({ datasetId: 'nope' }))
    expect(reply.status).toBe(400)
    expect(JSON.parse(reply.body)).toMatchObject({
      ok: false,
      error: { message: expect.stringMatching(/^listImages: invalid request: datasetId: /) }
    })
    const extra = await call('appInfo', JSON.stringify({ surprise: 1 }))
    expect(extra.status).toBe(400)
    expect(extra.body).toContain('surprise')
    const notAnObject = await call('listImages', '[1,2]')
    expect(notAnObject.status).toBe(400)
  })

  it('answers a body that is not JSON (or not UTF-8 JSON) with 400', async () => {
    expect((await call('appInfo', '{"a":')).status).toBe(400)
    const reply = await send(test.host, '/api/call/appInfo', {
      method: 'POST',
      headers: test.withToken({ 'content-type': 'application/json' }),
      body: Buffer.from([0xff, 0xfe, 0x00, 0x7b])
    })
    expect(reply.status).toBe(400)
    expect(reply.body).toContain('not JSON')
  })

  it('answers wrong methods and content types with 405 and 415', async () => {
    expect(
      (await send(test.host, '/api/call/appInfo', { method: 'PUT', headers: test.withToken() })).status
    ).toBe(405)
    expect((await send(test.host, '/', { method: 'DELETE', headers: test.withToken() })).status).toBe(405)
    expect((await call('appInfo', '{}', { 'content-type': 'text/plain' })).status).toBe(415)
  })

  it('keeps a 500 for a bug in a handler, with its stack in the log', async () => {
    const reply = await call('eda', JSON.stringify({ datasetId: '0123456789abcdef' }))
    expect(reply.status).toBe(500)
    expect(JSON.parse(reply.body)).toMatchObject({
      ok: false,
      error: { message: 'internal error: injected bug' }
    })
    expect(test.logged).toHaveLength(1)
    expect(test.logged[0]).toMatch(/Error: injected bug\n\s+at /)
    test.logged.length = 0
  })
})

describe('clients that go away', () => {
  it('logs nothing when a client disconnects in the middle of its body', async () => {
    await new Promise<void>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port: test.host.port }, () => {
        socket.write(
          [
            'POST /api/call/appInfo HTTP/1.1',
            `Host: 127.0.0.1:${test.host.port}`,
            `Authorization: token ${test.host.token}`,
            'Content-Type: application/json',
            'Content-Length: 1000',
            '',
            '{"partial":'
          ].join('\r\n')
        )
        setTimeout(() => socket.destroy(), 50)
      })
      socket.on('close', () => resolve())
    })
    await new Promise((resolve) => setTimeout(resolve, 50))
  })

  it('logs nothing and keeps no file open when a client disconnects in the middle of a download', async () => {
    const openFiles = () => (existsSync('/proc/self/fd') ? readdirSync('/proc/self/fd').length : 0)
    const before = openFiles()
    for (let i = 0; i < 8; i++) {
      await new Promise<void>((resolve, reject) => {
        const req = request(
          { host: '127.0.0.1', port: test.host.port, path: '/assets/big.js', headers: test.withToken() },
          (res) => res.once('data', () => req.destroy())
        )
        req.on('error', () => undefined)
        req.on('close', () => resolve())
        req.on('timeout', () => reject(new Error('no answer')))
        req.end()
      })
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(openFiles() - before, 'file descriptors left open by aborted downloads').toBeLessThan(4)
  })
})

describe('bad upgrade requests', () => {
  it('answers each with a 4xx and never takes the host down', async () => {
    const token = { Authorization: `token ${test.host.token}` }
    const cases: Array<[string, string, number]> = [
      ['no key', upgradeRequest('/api/events', { ...token, 'Sec-WebSocket-Version': '13' }), 400],
      [
        'bad version',
        upgradeRequest('/api/events', { ...token, ...WS_HEADERS, 'Sec-WebSocket-Version': '99' }),
        400
      ],
      ['POST', upgradeRequest('/api/events', { ...token, ...WS_HEADERS }, 'POST'), 405],
      ['another path', upgradeRequest('/api/call/appInfo', { ...token, ...WS_HEADERS }), 404],
      ['malformed path', upgradeRequest('//%', { ...token, ...WS_HEADERS }), 404],
      ['bad escape', upgradeRequest('/api/events%zz', { ...token, ...WS_HEADERS }), 404],
      [
        'absolute form',
        upgradeRequest(`http://127.0.0.1:${test.host.port}/api/events`, { ...token, ...WS_HEADERS }),
        400
      ],
      ['no token', upgradeRequest('/api/events', WS_HEADERS), 401],
      [
        'foreign origin',
        upgradeRequest('/api/events', { ...token, ...WS_HEADERS, Origin: 'https://evil.example' }),
        403
      ]
    ]
    for (const [name, bytes, status] of cases) {
      const reply = await rawExchange(test.host.port, bytes)
      expect(reply.status, name).toBe(status)
    }
  })

  it('survives clients that reset the connection in the middle of a refused upgrade', async () => {
    for (let i = 0; i < 20; i++) {
      await new Promise<void>((resolve) => {
        const socket = connect({ host: '127.0.0.1', port: test.host.port }, () => {
          socket.write(upgradeRequest('/api/events', WS_HEADERS))
          socket.resetAndDestroy()
        })
        socket.on('error', () => undefined)
        socket.on('close', () => resolve())
      })
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  })

  it('survives a connected page that sends a frame the protocol forbids', async () => {
    const socket = connect({ host: '127.0.0.1', port: test.host.port })
    socket.on('error', () => undefined)
    const upgraded = new Promise<void>((resolve) => socket.once('data', () => resolve()))
    socket.write(upgradeRequest('/api/events', { Authorization: `token ${test.host.token}`, ...WS_HEADERS }))
    await upgraded
    // an unmasked text frame: clients must mask, so the server's parser fails on it
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()))
    socket.write(Buffer.from([0x81, 0x02, 0x68, 0x69]))
    await closed
  })
})
