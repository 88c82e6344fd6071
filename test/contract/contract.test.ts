import { describe, expect, it, vi } from 'vitest'
import { callNames, calls, type CallName, type Envelope } from '../../common/contract'
import { decodeFrame, encodeFrame } from '../../common/contract/binary-frame'
import { CallError, createClient, type Transport } from '../../common/contract/client'
import { dispatch, parseRequest, type Handlers } from '../../main/backend/dispatch'
import { UserError } from '../../main/core/errors'

const datasetId = '0123456789abcdef'

describe('contract request schemas', () => {
  it.each([
    ['openDataset', { path: 42 }, 'path'],
    ['openDataset', { path: '' }, 'path'],
    ['openDataset', { path: '/data', extra: true }, '(request)'],
    ['listImages', { datasetId: '../../etc' }, 'datasetId'],
    ['imagePixels', { datasetId, imageId: '../secret' }, 'imageId'],
    ['imagePixels', { datasetId, imageId: 'abc', prefetch: 'yes' }, 'prefetch'],
    ['thumbnail', { datasetId, imageId: 'abc', size: 100000 }, 'size'],
    ['setPolicy', { datasetId, policy: 'keep-everything' }, 'policy'],
    ['quality', { datasetId }, 'pixels']
  ] as const)('rejects %s(%j), naming %s', (name, request, field) => {
    const parsed = parseRequest(name, request)
    expect(parsed.ok).toBe(false)
    if (!parsed.ok) expect(parsed.error.message).toContain(`${name}: invalid request: ${field}`)
  })

  it('accepts well-formed requests', () => {
    expect(parseRequest('openDataset', { path: '/data/siim' }).ok).toBe(true)
    expect(parseRequest('imagePixels', { datasetId, imageId: '65761e66de9f' }).ok).toBe(true)
    expect(parseRequest('imagePixels', { datasetId, imageId: '1.2.840.113619.2.55.3' }).ok).toBe(true)
    expect(parseRequest('imagePixels', { datasetId, imageId: '65761e66de9f', prefetch: true }).ok).toBe(true)
    expect(parseRequest('appInfo', undefined).ok).toBe(true)
  })

  it('declares every call with a request schema and a response or meta schema', () => {
    for (const name of callNames) {
      const spec = calls[name]
      expect(spec.request, name).toBeDefined()
      expect(spec.kind === 'json' ? spec.response : spec.meta, name).toBeDefined()
    }
  })
})

describe('dispatch', () => {
  const handlers = (overrides: Partial<Handlers>) => overrides as Handlers

  it('never calls the handler with a bad payload', async () => {
    const listImages = vi.fn()
    const envelope = await dispatch(handlers({ listImages }), 'listImages', { datasetId: 7 })
    expect(envelope.ok).toBe(false)
    expect(listImages).not.toHaveBeenCalled()
  })

  it('passes user errors through as they are and marks bugs as internal', async () => {
    const user = await dispatch(
      handlers({ openDataset: async () => Promise.reject(new UserError('/data/x: no such folder')) }),
      'openDataset',
      { path: '/data/x' }
    )
    expect(user).toEqual({ ok: false, error: { message: '/data/x: no such folder', user: true } })
    const logError = vi.fn()
    const bug = await dispatch(
      handlers({ appInfo: async () => Promise.reject(new TypeError('x is undefined')) }),
      'appInfo',
      {},
      { logError }
    )
    expect(bug).toEqual({ ok: false, error: { message: 'internal error: x is undefined', user: false } })
    expect(logError).toHaveBeenCalledOnce()
  })

  it('catches a response that breaks the contract when asked to', async () => {
    const broken = handlers({ appInfo: async () => ({ version: 1 }) as never })
    const envelope = await dispatch(broken, 'appInfo', {}, { validateResponses: true })
    expect(envelope.ok).toBe(false)
    if (!envelope.ok) expect(envelope.error.message).toMatch(/appInfo: response breaks the contract: version/)
  })
})

describe('typed client', () => {
  function fakeTransport(
    reply: (name: CallName, request: unknown) => Envelope<unknown>
  ): Transport & { calls: Array<[string, unknown]> } {
    const seen: Array<[string, unknown]> = []
    return {
      calls: seen,
      call: async (name, request) => {
        seen.push([name, request])
        return reply(name, request)
      },
      subscribe: () => () => undefined
    }
  }

  it('routes each method to its call and unwraps the value', async () => {
    const transport = fakeTransport((name) => ({
      ok: true,
      value: name === 'recentDatasets' ? [] : { path: null }
    }))
    const api = createClient(transport)
    await expect(api.recentDatasets()).resolves.toEqual([])
    await expect(api.pickFolder()).resolves.toEqual({ path: null })
    expect(transport.calls).toEqual([
      ['recentDatasets', {}],
      ['pickFolder', {}]
    ])
  })

  it('turns an error envelope into a CallError with the message to show', async () => {
    const api = createClient(
      fakeTransport(() => ({
        ok: false,
        error: { message: 'train/a.dcm: unsupported transfer syntax 1.2.3', user: true }
      }))
    )
    const failure = api.imageTags({ datasetId, imageId: 'a' })
    await expect(failure).rejects.toBeInstanceOf(CallError)
    await expect(failure).rejects.toThrow('train/a.dcm: unsupported transfer syntax 1.2.3')
  })
})

describe('binary frames', () => {
  it('round-trip pixels at an offset a 16-bit view can use', () => {
    const pixels = new Int16Array([-1024, 0, 3071, 12, -5])
    for (const meta of [{ a: 1 }, { imageId: 'x'.repeat(37) }]) {
      const frame = encodeFrame(meta, new Uint8Array(pixels.buffer))
      const copy = frame.buffer.slice(0)
      const decoded = decodeFrame(copy)
      expect(decoded.meta).toEqual(meta)
      expect(decoded.data.byteOffset % 8).toBe(0)
      expect(Array.from(new Int16Array(decoded.data.buffer, decoded.data.byteOffset, pixels.length))).toEqual(
        Array.from(pixels)
      )
    }
  })

  it('refuses a truncated frame', () => {
    const frame = encodeFrame({ imageId: 'abc' }, new Uint8Array(4))
    expect(() => decodeFrame(frame.buffer.slice(0, 6))).toThrow(/header is longer than the frame/)
  })
})
