// Electron main, wired against a fake `electron` module (no binary exists here): the window's
// security settings, navigation and permission refusals, the cxr:// scheme's confinement, and the
// IPC path to the back-end utility process.
import { EventEmitter } from 'node:events'
import { join } from 'node:path'
import { beforeAll, describe, expect, it, vi } from 'vitest'
import { callNames, ipcChannel } from '../../common/contract'

const fake = vi.hoisted(() => {
  const handlers = new Map<string, (event: unknown, request: unknown) => Promise<unknown>>()
  const appEvents = new Map<string, (...args: unknown[]) => void>()
  const windows: Array<{
    options: Record<string, unknown>
    url: string
    webContents: { id: number; send: (...a: unknown[]) => void }
  }> = []
  const children: Array<{
    script: string
    messages: unknown[]
    emit: (event: string, value: unknown) => void
  }> = []
  const state = {
    privileged: [] as unknown[],
    protocolHandler: null as null | ((request: Request) => Promise<Response>),
    permissionRequest: null as
      null | ((contents: unknown, permission: string, callback: (ok: boolean) => void) => void),
    permissionCheck: null as null | ((contents: unknown, permission: string) => boolean),
    recentDocuments: [] as string[],
    dialogResult: { canceled: false, filePaths: ['/data/picked'] },
    fetched: [] as string[]
  }
  return { handlers, appEvents, windows, children, state }
})

vi.mock('electron', async () => {
  const { EventEmitter } = await import('node:events')
  let nextId = 1
  class BrowserWindow extends EventEmitter {
    static getAllWindows = () => fake.windows
    webContents: { id: number; send: (...a: unknown[]) => void; once: () => void; isDestroyed: () => boolean }
    url = ''
    constructor(readonly options: Record<string, unknown>) {
      super()
      this.webContents = { id: nextId++, send: vi.fn(), once: vi.fn(), isDestroyed: () => false }
      fake.windows.push(this as never)
    }
    loadURL(url: string) {
      this.url = url
      return Promise.resolve()
    }
    show() {}
  }
  return {
    app: {
      enableSandbox: vi.fn(),
      requestSingleInstanceLock: () => true,
      quit: vi.fn(),
      whenReady: () => Promise.resolve(),
      on: (event: string, listener: (...args: unknown[]) => void) => fake.appEvents.set(event, listener),
      isPackaged: false,
      addRecentDocument: (path: string) => fake.state.recentDocuments.push(path)
    },
    BrowserWindow,
    dialog: { showOpenDialog: vi.fn(async () => fake.state.dialogResult) },
    ipcMain: {
      handle: (channel: string, listener: (event: unknown, request: unknown) => Promise<unknown>) =>
        fake.handlers.set(channel, listener),
      removeHandler: (channel: string) => fake.handlers.delete(channel)
    },
    Menu: { buildFromTemplate: (template: unknown) => ({ template }), setApplicationMenu: vi.fn() },
    protocol: { registerSchemesAsPrivileged: (schemes: unknown[]) => fake.state.privileged.push(...schemes) },
    net: {
      fetch: async (url: string) => {
        fake.state.fetched.push(url)
        return new Response('<html></html>', { status: 200, headers: { 'content-type': 'text/html' } })
      }
    },
    session: {
      defaultSession: {
        protocol: {
          handle: (_scheme: string, handler: (request: Request) => Promise<Response>) =>
            (fake.state.protocolHandler = handler)
        },
        setPermissionRequestHandler: (handler: never) => (fake.state.permissionRequest = handler),
        setPermissionCheckHandler: (handler: never) => (fake.state.permissionCheck = handler),
        webRequest: { onHeadersReceived: vi.fn() }
      }
    },
    utilityProcess: {
      fork: (script: string) => {
        const child = Object.assign(new EventEmitter(), {
          script,
          messages: [] as unknown[],
          postMessage(message: unknown) {
            child.messages.push(message)
          },
          kill: vi.fn()
        })
        fake.children.push(child as never)
        return child
      }
    }
  }
})

const appRoot = join(__dirname, '..', '..')

beforeAll(async () => {
  await import('../../main/electron/index')
  await new Promise((resolve) => setTimeout(resolve, 10))
})

const trusted = () => ({
  sender: { id: fake.windows[0].webContents.id },
  senderFrame: { url: 'cxr://app/index.html#/', parent: null }
})

describe('the desktop window', () => {
  it('is sandboxed and context-isolated, without Node, loading the app scheme with the bundled preload', () => {
    expect(fake.windows).toHaveLength(1)
    const prefs = fake.windows[0].options.webPreferences as Record<string, unknown>
    expect(prefs).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true
    })
    expect(prefs.preload).toBe(join(appRoot, 'out/preload/index.cjs'))
    expect(fake.windows[0].url).toBe('cxr://app/index.html')
    expect(fake.state.privileged).toEqual([
      { scheme: 'cxr', privileges: { standard: true, secure: true, supportFetchAPI: true } }
    ])
  })

  it('denies navigation away from the app, new windows, webviews and every permission but notifications', () => {
    const contents = Object.assign(new EventEmitter(), { setWindowOpenHandler: vi.fn() })
    fake.appEvents.get('web-contents-created')!({}, contents)
    const away = { preventDefault: vi.fn() }
    contents.emit('will-navigate', away, 'https://evil.example/')
    expect(away.preventDefault).toHaveBeenCalled()
    const inside = { preventDefault: vi.fn() }
    contents.emit('will-navigate', inside, 'cxr://app/index.html#/d/0123456789abcdef/data')
    expect(inside.preventDefault).not.toHaveBeenCalled()
    const webview = { preventDefault: vi.fn() }
    contents.emit('will-attach-webview', webview)
    expect(webview.preventDefault).toHaveBeenCalled()
    expect(contents.setWindowOpenHandler.mock.calls[0][0]()).toEqual({ action: 'deny' })
    for (const permission of ['media', 'geolocation', 'clipboard-read', 'openExternal']) {
      const decision = vi.fn()
      fake.state.permissionRequest!({}, permission, decision)
      expect(decision, permission).toHaveBeenCalledWith(false)
      expect(fake.state.permissionCheck!({}, permission), permission).toBe(false)
    }
    // the one exception: a desktop notification when a training run ends
    const notify = vi.fn()
    fake.state.permissionRequest!({}, 'notifications', notify)
    expect(notify).toHaveBeenCalledWith(true)
    expect(fake.state.permissionCheck!({}, 'notifications')).toBe(true)
  })

  it('serves only files inside out/renderer on cxr://app, with the CSP', async () => {
    const page = await fake.state.protocolHandler!(new Request('cxr://app/index.html'))
    expect(page.status).toBe(200)
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'")
    expect(fake.state.fetched.at(-1)).toBe(`file://${join(appRoot, 'out/renderer/index.html')}`)
    const fetchedBefore = fake.state.fetched.length
    for (const url of [
      'cxr://app/assets/..%2f..%2f..%2fpackage.json',
      'cxr://app/..%2F..%2Fpackage.json',
      'cxr://other/index.html'
    ]) {
      expect((await fake.state.protocolHandler!(new Request(url))).status, url).toBe(404)
    }
    expect(fake.state.fetched.length, 'no file outside out/renderer was even opened').toBe(fetchedBefore)
  })
})

describe('IPC to the back end', () => {
  it('binds every call and runs the back end in a utility process from out/node', () => {
    expect([...fake.handlers.keys()].sort()).toEqual(callNames.map(ipcChannel).sort())
    expect(fake.children[0].script).toBe(join(appRoot, 'out/node/backend-process.js'))
  })

  it('forwards a checked call to the utility process and returns its answer', async () => {
    const child = fake.children[0]
    const pending = fake.handlers.get(ipcChannel('openDataset'))!(trusted(), { path: '/data/siim' })
    await new Promise((resolve) => setTimeout(resolve, 0))
    const sent = child.messages.find((m) => (m as { name?: string }).name === 'openDataset') as {
      id: number
      request: unknown
    }
    expect(sent).toMatchObject({ type: 'call', request: { path: '/data/siim' } })
    const summary = { root: '/data/siim' }
    child.emit('message', { type: 'reply', id: sent.id, envelope: { ok: true, value: summary } })
    await expect(pending).resolves.toEqual({ ok: true, value: summary })
    expect(fake.state.recentDocuments).toContain('/data/siim')
  })

  it('answers pickFolder with the native dialog in main', async () => {
    await expect(fake.handlers.get(ipcChannel('pickFolder'))!(trusted(), {})).resolves.toEqual({
      ok: true,
      value: { path: '/data/picked' }
    })
  })

  it('refuses calls from a frame that is not the app before they reach the back end', async () => {
    const before = fake.children[0].messages.length
    const envelope = await fake.handlers.get(ipcChannel('listImages'))!(
      {
        sender: { id: fake.windows[0].webContents.id },
        senderFrame: { url: 'https://evil.example/', parent: null }
      },
      { datasetId: '0123456789abcdef' }
    )
    expect(envelope).toMatchObject({ ok: false })
    expect(fake.children[0].messages.length).toBe(before)
  })

  it("forks the back end's job workers as utility processes and relays their messages both ways", () => {
    const backendChild = fake.children[0]
    const before = fake.children.length
    const workerScript = join(appRoot, 'out/node/train-worker.js')
    backendChild.emit('message', { type: 'worker-launch', workerId: 7, script: workerScript })
    const worker = fake.children[before]
    expect(worker.script).toBe(workerScript)
    backendChild.emit('message', { type: 'worker-send', workerId: 7, message: { type: 'start', params: { a: 1 } } })
    expect(worker.messages).toEqual([{ type: 'start', params: { a: 1 } }])
    worker.emit('message', { type: 'event', name: 'log', payload: { line: 'x' } })
    expect(backendChild.messages.at(-1)).toEqual({
      type: 'worker-message',
      workerId: 7,
      message: { type: 'event', name: 'log', payload: { line: 'x' } }
    })
    worker.emit('exit', 1)
    expect(backendChild.messages.at(-1)).toEqual({
      type: 'worker-exit',
      workerId: 7,
      exit: { code: 1, signal: null, stderr: '' }
    })
    // relay messages are not calls: nothing was answered as one
    expect(backendChild.messages.filter((m) => (m as { type: string }).type === 'reply')).toEqual([])
  })

  it('restarts the back end when it dies and fails what was in flight', async () => {
    const child = fake.children[0]
    const before = fake.children.length
    const pending = fake.handlers.get(ipcChannel('appInfo'))!(trusted(), {})
    await new Promise((resolve) => setTimeout(resolve, 0))
    child.emit('exit', 9)
    await expect(pending).resolves.toMatchObject({
      ok: false,
      error: { message: expect.stringContaining('exit code 9') }
    })
    await new Promise((resolve) => setTimeout(resolve, 600))
    expect(fake.children).toHaveLength(before + 1)
    expect(fake.children[before].script).toBe(join(appRoot, 'out/node/backend-process.js'))
  })
})
