// A fuzz test of the web host over raw sockets (an HTTP client would refuse or repair most of these):
// methods, request targets, headers, cookies, tokens, upgrades and bodies, each on its own
// connection. Every answer must be a well-formed HTTP response below 500 (the one handler bug
// injected on purpose excepted), nothing may be logged but that bug, and the host must still answer
// a valid request afterwards. Fixed seed and a small budget, so it runs in CI in a few seconds.
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { calls } from '../../common/contract'
import { tokenCookieName } from '../../main/host/access'
import { rawExchange, send, startTestHost, type TestHost } from './helpers'

const SEED = 20_240_610
const RUNS = 300

let test: TestHost
beforeAll(async () => {
  test = await startTestHost()
})
afterAll(() => test.close())

const CALL_NAMES = Object.keys(calls)
const INJECTED_BUG_PATH = '/api/call/eda'

/** Mostly well framed, sometimes not: the host must get past HTTP parsing to be tested at all. */
const mostly = <T>(usual: fc.Arbitrary<T>, rare: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary: usual, weight: 19 }, { arbitrary: rare, weight: 1 })

/** Pieces that HTTP carries but that decoders, path checks and token checks trip on. */
const awkward = fc.constantFrom(
  '%',
  '%zz',
  '%00',
  '%2e%2e',
  '%2f',
  '%5c',
  '%E0%A4%A',
  '%C0%AF',
  '..',
  '/',
  '\\',
  '?',
  '#',
  ';',
  '=',
  ',',
  '"',
  "'",
  '~',
  '*',
  '@',
  ':',
  '[',
  ']',
  'a',
  'Z',
  '0',
  '-',
  '_',
  '.'
)
/** Pieces the HTTP parser itself must refuse: controls, NUL, CR/LF, spaces, non-ASCII. */
const breaking = fc.constantFrom(' ', '\0', '\t', '\r', '\n', '\r\n', '\x7f', 'é', '€', '\u{1F600}')
const nastyString = (maxLength: number) => {
  const piece = fc.oneof(awkward, fc.string({ maxLength: 3, unit: 'grapheme-ascii' }))
  return mostly(
    fc.array(piece, { maxLength }),
    fc.array(fc.oneof(piece, breaking), { minLength: 1, maxLength })
  ).map((parts) => parts.join(''))
}

const targets = fc.oneof(
  fc.constantFrom(
    '/',
    '/index.html',
    '/assets/big.js',
    '/assets/',
    '/api/',
    '/api/events',
    '/api/call/',
    INJECTED_BUG_PATH,
    '//%',
    '/%zz',
    '/%',
    '/..%2f..%2fetc/passwd',
    '*',
    'http://127.0.0.1/',
    'index.html',
    ''
  ),
  fc.constantFrom(...CALL_NAMES).map((name) => `/api/call/${name}`),
  nastyString(12).map((tail) => `/${tail}`),
  nastyString(6).map((tail) => `/api/call/${tail}`),
  fc.integer({ min: 1, max: 20_000 }).map((n) => `/${'a'.repeat(n)}`)
)

type TokenMode = 'none' | 'header' | 'cookie' | 'query' | 'wrong' | 'bad-cookie' | 'bad-cookie+header'
const tokenModes = fc.constantFrom<TokenMode>(
  'none',
  'header',
  'cookie',
  'query',
  'wrong',
  'bad-cookie',
  'bad-cookie+header'
)

const headerNames = mostly(
  fc.constantFrom(
    'host',
    'origin',
    'content-type',
    'cookie',
    'connection',
    'upgrade',
    'sec-websocket-key',
    'sec-websocket-version',
    'expect',
    'sec-fetch-site',
    'authorization',
    'accept-encoding',
    'range',
    'x-forwarded-for'
  ),
  nastyString(3)
)
const headerValues = mostly(
  fc.constantFrom(
    'application/json',
    'websocket',
    'Upgrade',
    'close',
    'keep-alive',
    'chunked',
    '100-continue',
    '13',
    'dGhlIHNhbXBsZSBub25jZQ==',
    '0',
    '-1',
    '99999999999999999999',
    'cross-site',
    'https://evil.example',
    'bytes=0-1'
  ),
  fc.oneof(nastyString(8), fc.string({ maxLength: 12 }))
)

const bodies = fc.oneof(
  fc.constant(''),
  fc.constant('{}'),
  fc.json({ maxDepth: 3 }),
  fc.string({ maxLength: 40 }),
  fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
  fc.record({ datasetId: fc.string({ maxLength: 20 }), path: nastyString(8) }).map((r) => JSON.stringify(r))
)

const requests = fc.record({
  method: mostly(
    fc.constantFrom('GET', 'POST', 'POST', 'POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'),
    fc.oneof(fc.constantFrom('TRACE', 'CONNECT', 'BREW', 'get', ''), nastyString(3))
  ),
  target: targets,
  query: fc.option(nastyString(6), { nil: undefined }),
  token: tokenModes,
  host: mostly(fc.constant('own'), fc.oneof(fc.constant('none'), fc.constant('localhost'), headerValues)),
  headers: fc.array(fc.tuple(headerNames, headerValues), { maxLength: 3 }),
  upgrade: fc.oneof(
    { arbitrary: fc.constant(false), weight: 4 },
    { arbitrary: fc.constant(true), weight: 1 }
  ),
  body: bodies,
  framing: fc.oneof(
    { arbitrary: fc.constant('exact' as const), weight: 12 },
    { arbitrary: fc.constant('chunked' as const), weight: 3 },
    {
      arbitrary: fc.constantFrom('none', 'short', 'long', 'not a number', 'chunked and length', 'bad chunk'),
      weight: 5
    }
  )
})
type FuzzRequest = typeof requests extends fc.Arbitrary<infer T> ? T : never

function rawRequest(request: FuzzRequest): Buffer {
  const port = test.host.port
  const query = [request.query, request.token === 'query' ? `token=${test.host.token}` : undefined].filter(
    (part) => part !== undefined
  )
  const target = request.target + (query.length ? `?${query.join('&')}` : '')
  const cookie = tokenCookieName(port)
  const lines = [`${request.method} ${target} HTTP/1.1`]
  if (request.host === 'own') lines.push(`Host: 127.0.0.1:${port}`)
  else if (request.host !== 'none') lines.push(`Host: ${request.host}`)
  if (request.token === 'header' || request.token === 'bad-cookie+header')
    lines.push(`Authorization: token ${test.host.token}`)
  if (request.token === 'cookie') lines.push(`Cookie: ${cookie}=${test.host.token}`)
  if (request.token === 'wrong') lines.push(`Authorization: token ${'0'.repeat(48)}`)
  if (request.token === 'bad-cookie' || request.token === 'bad-cookie+header')
    lines.push(`Cookie: ${cookie}=%zz`)
  if (request.upgrade)
    lines.push(
      'Connection: Upgrade',
      'Upgrade: websocket',
      'Sec-WebSocket-Version: 13',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=='
    )
  if (request.method === 'POST') lines.push('Content-Type: application/json')
  for (const [name, value] of request.headers) lines.push(`${name}: ${value}`)
  let body = Buffer.from(request.body, 'latin1')
  const chunked = (data: Buffer, size = data.length.toString(16)) =>
    Buffer.concat([Buffer.from(`${size}\r\n`), data, Buffer.from(data.length ? '\r\n0\r\n\r\n' : '\r\n')])
  switch (request.framing) {
    case 'exact':
      lines.push(`Content-Length: ${body.length}`)
      break
    case 'short':
      lines.push(`Content-Length: ${Math.max(0, body.length - 1)}`)
      break
    case 'long':
      lines.push(`Content-Length: ${body.length + 10}`)
      break
    case 'not a number':
      lines.push('Content-Length: 1e3')
      break
    case 'chunked and length':
      lines.push('Transfer-Encoding: chunked', `Content-Length: ${body.length}`)
      body = chunked(body)
      break
    case 'chunked':
      lines.push('Transfer-Encoding: chunked')
      body = chunked(body)
      break
    case 'bad chunk':
      lines.push('Transfer-Encoding: chunked')
      body = chunked(body, 'zz')
      break
  }
  return Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'utf8'), body])
}

/** Calls with the token and clean framing, so that the bodies reach the contract and the handlers. */
const tokenedCalls = fc.record({
  name: fc.oneof(fc.constantFrom(...CALL_NAMES), fc.constant('eda')),
  via: fc.constantFrom<TokenMode>('header', 'cookie', 'query', 'bad-cookie+header'),
  body: fc.oneof(
    bodies,
    // requests that pass the contract, so the handlers run (eda's is the injected bug)
    fc.constantFrom(
      '{}',
      '{"datasetId":"0123456789abcdef"}',
      '{"datasetId":"0123456789abcdef","imageId":"abc"}',
      '{"datasetId":"0123456789abcdef","imageId":"abc","size":64}',
      '{"path":"/tmp"}',
      '{"runId":"0123456789abcdef"}'
    ),
    fc
      .record(
        {
          datasetId: fc.oneof(fc.constant('0123456789abcdef'), fc.string({ maxLength: 18 })),
          imageId: fc.oneof(fc.constant('abc'), nastyString(6)),
          path: nastyString(10),
          size: fc.oneof(fc.integer(), fc.double(), fc.constant(64)),
          jobId: fc.string({ maxLength: 8 })
        },
        { requiredKeys: [] }
      )
      .map((request) => JSON.stringify(request))
  ),
  framing: fc.constantFrom('exact' as const, 'chunked' as const)
})

interface Tally {
  statuses: Map<string, number>
  injectedBugs: number
}

/** One exchange judged: a response below 500 (or the injected bug), the connection closed, no stack logged. */
async function judge(tally: Tally, bytes: Buffer, target: string): Promise<void> {
  const reply = await rawExchange(test.host.port, bytes)
  const key = reply.status === null ? 'closed without an answer' : String(reply.status)
  tally.statuses.set(key, (tally.statuses.get(key) ?? 0) + 1)
  expect(reply.closed, 'the host closed the connection after answering').toBe(true)
  if (reply.status !== null && reply.status >= 500) {
    // the only 500: the bug injected in `eda`, reached with a valid token and request
    expect(reply.status).toBe(500)
    expect(target).toBe(INJECTED_BUG_PATH)
    expect(reply.response).toContain('internal error: injected bug')
    tally.injectedBugs++
  }
  expect(
    test.logged.filter((line) => !line.startsWith('Error: injected bug')),
    'nothing but the injected bug is logged'
  ).toEqual([])
}

async function expectStillServing(tally: Tally, what: string): Promise<void> {
  expect(test.logged).toHaveLength(tally.injectedBugs)
  const alive = await send(test.host, '/api/call/appInfo', {
    method: 'POST',
    headers: test.withToken({ 'content-type': 'application/json' }),
    body: '{}'
  })
  expect(alive.status).toBe(200)
  expect(JSON.parse(alive.body)).toMatchObject({ ok: true, value: { version: '9.9.9' } })
  const page = await send(test.host, '/', { headers: test.withToken() })
  expect(page.body).toContain('<title>CXR Studio</title>')
  // the budget's outcome, for the test log
  const counts = [...tally.statuses].sort().map(([status, n]) => `${status}×${n}`)
  console.info(`fuzz ${what}, seed ${SEED}, ${RUNS} runs: ${counts.join(', ')}`)
}

describe('the web host under fuzzed requests', () => {
  it(`answers ${RUNS} fuzzed raw requests below 500, logs no stack and keeps serving (seed ${SEED})`, async () => {
    const tally: Tally = { statuses: new Map(), injectedBugs: 0 }
    await fc.assert(
      fc.asyncProperty(requests, (request) => judge(tally, rawRequest(request), request.target)),
      { seed: SEED, numRuns: RUNS, endOnFailure: true }
    )
    await expectStillServing(tally, 'raw requests')
  }, 60_000)

  it(`answers ${RUNS} fuzzed calls with the token below 500 but for the injected bug (seed ${SEED})`, async () => {
    const tally: Tally = { statuses: new Map(), injectedBugs: 0 }
    test.logged.length = 0
    await fc.assert(
      fc.asyncProperty(tokenedCalls, (call) => {
        const target = `/api/call/${call.name}`
        const bytes = rawRequest({
          method: 'POST',
          target,
          query: undefined,
          token: call.via,
          host: 'own',
          headers: [],
          upgrade: false,
          body: call.body,
          framing: call.framing
        })
        return judge(tally, bytes, target)
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true }
    )
    await expectStillServing(tally, 'tokened calls')
  }, 60_000)
})
