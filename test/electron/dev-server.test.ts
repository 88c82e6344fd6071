// Electron main in development (not packaged) next to electron-vite's dev server: the window loads
// ELECTRON_RENDERER_URL and the IPC sender check trusts that origin instead of cxr://app. The
// packaged counterpart, which must ignore the variable, is packaged.test.ts.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { ipcChannel } from '../../common/contract'
import { fake, handler } from './fake-electron'

vi.mock('electron', async () => (await import('./fake-electron')).electron)

const DEV_SERVER = 'http://localhost:5173/'
const previous = process.env.ELECTRON_RENDERER_URL

beforeAll(async () => {
  fake.state.isPackaged = false
  process.env.ELECTRON_RENDERER_URL = DEV_SERVER
  await import('../../main/electron/index')
  await new Promise((resolve) => setTimeout(resolve, 10))
})

afterAll(() => {
  if (previous === undefined) delete process.env.ELECTRON_RENDERER_URL
  else process.env.ELECTRON_RENDERER_URL = previous
})

describe('development with the dev server', () => {
  it('loads the dev server and lets it call in, while another origin is refused', async () => {
    expect(fake.windows[0].url).toBe(DEV_SERVER)
    const backend = fake.children[0]
    const fromFrame = (url: string) => ({
      sender: { id: fake.windows[0].webContents.id },
      senderFrame: { url, parent: null }
    })
    void handler(ipcChannel('appInfo'))(fromFrame(`${DEV_SERVER}#/`), {})
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(backend.messages.at(-1)).toMatchObject({ type: 'call', name: 'appInfo' })
    const refused = await handler(ipcChannel('appInfo'))(fromFrame('http://localhost:5174/'), {})
    expect(refused).toMatchObject({ ok: false })
  })
})
