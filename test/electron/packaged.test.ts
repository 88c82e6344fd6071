// Electron main as a packaged app (app.isPackaged), with ELECTRON_RENDERER_URL set in its
// environment: the variable is only for electron-vite's dev server, so the packaged app must ignore
// it — its window, its navigation rule and its IPC sender check all stay on cxr://app.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { ipcChannel } from '../../common/contract'
import { createdContents, fake, handler } from './fake-electron'

vi.mock('electron', async () => (await import('./fake-electron')).electron)

const DEV_SERVER = 'http://localhost:5173/'
const previous = process.env.ELECTRON_RENDERER_URL

beforeAll(async () => {
  fake.state.isPackaged = true
  process.env.ELECTRON_RENDERER_URL = DEV_SERVER
  await import('../../main/electron/index')
  await new Promise((resolve) => setTimeout(resolve, 10))
  // main builds the menu once the back end lists the recent datasets
  const backend = fake.children[0]
  const recent = backend.messages.find((m) => (m as { name?: string }).name === 'recentDatasets') as { id: number }
  backend.emit('message', { type: 'reply', id: recent.id, envelope: { ok: true, value: [] } })
  await new Promise((resolve) => setTimeout(resolve, 0))
})

afterAll(() => {
  if (previous === undefined) delete process.env.ELECTRON_RENDERER_URL
  else process.env.ELECTRON_RENDERER_URL = previous
})

const fromFrame = (url: string) => ({
  sender: { id: fake.windows[0].webContents.id },
  senderFrame: { url, parent: null }
})

describe('a packaged app with ELECTRON_RENDERER_URL in its environment', () => {
  it('loads its own page, cxr://app/index.html, not the URL from the environment', () => {
    expect(fake.windows).toHaveLength(1)
    expect(fake.windows[0].url).toBe('cxr://app/index.html')
  })

  it("refuses IPC calls from the environment's URL, and still answers its own page", async () => {
    const backend = fake.children[0]
    const sent = backend.messages.length
    const refused = await handler(ipcChannel('appInfo'))(fromFrame(DEV_SERVER), {})
    expect(refused).toMatchObject({ ok: false, error: { message: `refused appInfo from ${DEV_SERVER}` } })
    expect(backend.messages.length, 'nothing reached the back end').toBe(sent)

    const pending = handler(ipcChannel('appInfo'))(fromFrame('cxr://app/index.html#/'), {})
    await new Promise((resolve) => setTimeout(resolve, 0))
    const call = backend.messages.at(-1) as { type: string; id: number; name: string }
    expect(call).toMatchObject({ type: 'call', name: 'appInfo' })
    backend.emit('message', { type: 'reply', id: call.id, envelope: { ok: true, value: 'answered' } })
    await expect(pending).resolves.toEqual({ ok: true, value: 'answered' })
  })

  it("does not navigate to the environment's URL", () => {
    const contents = createdContents()
    const navigation = { preventDefault: vi.fn() }
    contents.emit('will-navigate', navigation, `${DEV_SERVER}#/`)
    expect(navigation.preventDefault).toHaveBeenCalled()
  })

  it('has no developer tools: not in the window, not in the View menu', () => {
    expect((fake.windows[0].options.webPreferences as { devTools: boolean }).devTools).toBe(false)
    const view = fake.state.applicationMenu!.template.find((menu) => menu.label === 'View')!
    const roles = (view.submenu as Array<{ role?: string }>).map((item) => item.role)
    expect(roles).toContain('togglefullscreen')
    expect(roles).not.toContain('toggleDevTools')
    expect(roles).not.toContain('reload')
  })
})
