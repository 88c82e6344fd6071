import { describe, expect, it, vi } from 'vitest'
import { callNames, ipcChannel, ipcEventChannel } from '../../common/contract'
import {
  bindContract,
  sendEvent,
  senderCheck,
  type InvokeEvent,
  type IpcMainLike
} from '../../main/electron/ipc'

/** An ipcMain that records handlers, so calls can be made the way the preload makes them. */
function fakeIpcMain() {
  const handlers = new Map<string, (event: InvokeEvent, ...args: unknown[]) => Promise<unknown>>()
  const ipc: IpcMainLike = {
    handle: (channel, listener) => {
      if (handlers.has(channel)) throw new Error(`second handler for ${channel}`)
      handlers.set(channel, listener)
    },
    removeHandler: (channel) => void handlers.delete(channel)
  }
  const invoke = (channel: string, event: InvokeEvent, request: unknown) => {
    const handler = handlers.get(channel)
    if (!handler) throw new Error(`No handler registered for '${channel}'`)
    return handler(event, request)
  }
  return { ipc, handlers, invoke }
}

const APP_URL = 'cxr://app/index.html'
const WINDOW_ID = 7
const fromApp = (
  url = 'cxr://app/index.html#/d/0123456789abcdef/studies',
  id = WINDOW_ID,
  parent: unknown = null
): InvokeEvent => ({ sender: { id }, senderFrame: { url, parent } }) as unknown as InvokeEvent
const isTrustedSender = senderCheck(APP_URL, () => [WINDOW_ID])

describe('bindContract', () => {
  it('binds every call of the contract, and unbinding removes them all', () => {
    const { ipc, handlers } = fakeIpcMain()
    const unbind = bindContract(ipc, vi.fn(), { isTrustedSender })
    expect([...handlers.keys()].sort()).toEqual(callNames.map(ipcChannel).sort())
    unbind()
    expect(handlers.size).toBe(0)
  })

  it('forwards a valid call from our window with the parsed request and returns the envelope', async () => {
    const { ipc, invoke } = fakeIpcMain()
    const backend = vi.fn(async () => ({
      ok: true as const,
      value: { version: '1', host: 'electron', workspace: '/w', platform: 'linux', nativeDialog: true }
    }))
    bindContract(ipc, backend, { isTrustedSender })
    const envelope = await invoke(ipcChannel('openDataset'), fromApp(), { path: '/data/siim' })
    expect(backend).toHaveBeenCalledWith('openDataset', { path: '/data/siim' })
    expect(envelope).toMatchObject({ ok: true })
  })

  it('refuses a malformed payload before it reaches the back end', async () => {
    const { ipc, invoke } = fakeIpcMain()
    const backend = vi.fn()
    const onRefused = vi.fn()
    bindContract(ipc, backend, { isTrustedSender, onRefused })
    const envelope = await invoke(ipcChannel('imagePixels'), fromApp(), { datasetId: 'x', imageId: 3 })
    expect(envelope).toMatchObject({
      ok: false,
      error: { message: expect.stringContaining('imagePixels: invalid request') }
    })
    expect(backend).not.toHaveBeenCalled()
    expect(onRefused).toHaveBeenCalledOnce()
  })

  it.each([
    ['another origin', fromApp('https://evil.example/index.html')],
    ['a look-alike custom host', fromApp('cxr://evil/index.html')],
    ['a file:// page', fromApp('file:///tmp/index.html')],
    ['a subframe of our page', fromApp(undefined, WINDOW_ID, { url: APP_URL })],
    ['a window we did not create', fromApp(undefined, 99)],
    ['a destroyed frame', { sender: { id: WINDOW_ID }, senderFrame: null } as unknown as InvokeEvent]
  ])('refuses calls from %s', async (_label, event) => {
    const { ipc, invoke } = fakeIpcMain()
    const backend = vi.fn()
    bindContract(ipc, backend, { isTrustedSender })
    const envelope = await invoke(ipcChannel('listImages'), event, { datasetId: '0123456789abcdef' })
    expect(envelope).toMatchObject({
      ok: false,
      error: { message: expect.stringMatching(/^refused listImages/) }
    })
    expect(backend).not.toHaveBeenCalled()
  })
})

describe('senderCheck in development', () => {
  it('accepts the dev server origin and nothing else', () => {
    const check = senderCheck('http://localhost:5173/', () => [WINDOW_ID])
    expect(check(fromApp('http://localhost:5173/#/'))).toBe(true)
    expect(check(fromApp('http://localhost:5174/#/'))).toBe(false)
    expect(check(fromApp('https://localhost:5173/#/'))).toBe(false)
  })
})

describe('sendEvent', () => {
  it('sends declared payloads on the derived channel and refuses undeclared shapes', () => {
    const send = vi.fn()
    const target = { send, isDestroyed: () => false }
    const job = {
      jobId: 'open-1',
      kind: 'open-dataset' as const,
      title: 'Indexing /data/siim',
      state: 'running' as const,
      progress: { stage: 'index', done: 3, total: 10 },
      createdAt: 1,
      startedAt: 2,
      endedAt: null,
      error: null,
      result: null,
      meta: {}
    }
    sendEvent(target, 'job', job)
    expect(send).toHaveBeenCalledWith(ipcEventChannel('job'), job)
    expect(() => sendEvent(target, 'job', { ...job, state: 'sleeping' } as never)).toThrow()
    expect(() =>
      sendEvent(target, 'jobEvent', { jobId: 'open-1', seq: 1, at: 3, name: 'step', payload: {} } as never)
    ).toThrow()
    expect(send).toHaveBeenCalledTimes(1)
  })
})
