// The preload is the renderer's only way out of its sandbox: it must hand the page the typed client
// and nothing else — no ipcRenderer, no way to name a channel of its own.
import { beforeAll, describe, expect, it, vi } from 'vitest'
import { callNames, eventNames, ipcChannel, ipcEventChannel } from '../../common/contract'

const bridge = vi.hoisted(() => ({
  exposed: new Map<string, unknown>(),
  invoked: [] as Array<[string, unknown]>,
  listened: [] as string[]
}))

vi.mock('electron', () => ({
  contextBridge: { exposeInMainWorld: (key: string, api: unknown) => bridge.exposed.set(key, api) },
  ipcRenderer: {
    invoke: async (channel: string, request: unknown) => {
      bridge.invoked.push([channel, request])
      return { ok: true, value: null }
    },
    on: (channel: string) => bridge.listened.push(channel),
    off: vi.fn()
  }
}))

beforeAll(async () => {
  await import('../../preload/index')
})

describe('the preload', () => {
  it('exposes one object, window.cxr, holding only functions: one per call of the contract, and on()', () => {
    expect([...bridge.exposed.keys()]).toEqual(['cxr'])
    const api = bridge.exposed.get('cxr') as Record<string, unknown>
    expect(Object.keys(api).sort()).toEqual([...callNames, 'on'].sort())
    for (const [key, value] of Object.entries(api)) expect(typeof value, key).toBe('function')
  })

  it('sends each call on its own contract channel and listens only on event channels', async () => {
    const api = bridge.exposed.get('cxr') as Record<string, (arg?: unknown) => unknown>
    await api.appInfo()
    expect(bridge.invoked).toEqual([[ipcChannel('appInfo'), {}]])
    ;(api.on as (event: string, listener: () => void) => void)(eventNames[0], () => {})
    expect(bridge.listened).toEqual([ipcEventChannel(eventNames[0])])
    for (const channel of [...bridge.invoked.map(([c]) => c), ...bridge.listened]) expect(channel).toMatch(/^cxr:(call|event):/)
  })
})
