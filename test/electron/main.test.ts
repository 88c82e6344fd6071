// Electron main, wired against a fake `electron` module (no binary exists here): the window's
// security settings, navigation and permission refusals, the cxr:// scheme's confinement and CSP,
// and the IPC path to the back-end utility process. packaged.test.ts and dev-server.test.ts load
// main again as a packaged app and next to electron-vite's dev server.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it, vi } from 'vitest'
import { callNames, ipcChannel } from '../../common/contract'
import { CONTENT_SECURITY_POLICY } from '../../common/csp'
import type { Handlers } from '../../main/backend/dispatch'
import { startWebHost } from '../../main/host/server'
import { createdContents, fake } from './fake-electron'

vi.mock('electron', async () => (await import('./fake-electron')).electron)

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
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false
    })
    expect(prefs).not.toHaveProperty('enableBlinkFeatures')
    expect(fake.state.sandboxEnabled, 'app.enableSandbox(): every renderer, not just this window').toBe(true)
    expect(prefs.preload).toBe(join(appRoot, 'out/preload/index.cjs'))
    expect(fake.windows[0].url).toBe('cxr://app/index.html')
    expect(fake.state.privileged).toEqual([
      { scheme: 'cxr', privileges: { standard: true, secure: true, supportFetchAPI: true } }
    ])
  })

  it('keeps the developer tools while not packaged (packaged.test.ts: never when packaged)', () => {
    expect((fake.windows[0].options.webPreferences as { devTools: boolean }).devTools).toBe(true)
  })

  it('denies navigation and redirects away from the app, new windows, webviews and every permission but notifications', () => {
    const contents = createdContents()
    const away = { preventDefault: vi.fn() }
    contents.emit('will-navigate', away, 'https://evil.example/')
    expect(away.preventDefault).toHaveBeenCalled()
    const inside = { preventDefault: vi.fn() }
    contents.emit('will-navigate', inside, 'cxr://app/index.html#/d/0123456789abcdef/data')
    expect(inside.preventDefault).not.toHaveBeenCalled()
    const redirect = { preventDefault: vi.fn() }
    contents.emit('will-redirect', redirect, 'file:///etc/passwd')
    expect(redirect.preventDefault).toHaveBeenCalled()
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
    expect(page.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY)
    expect(page.headers.get('x-content-type-options')).toBe('nosniff')
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

  it('puts the same CSP on every other response of the session (the dev server sends none)', () => {
    let headers: Record<string, string[]> = {}
    fake.state.headersReceived!({ responseHeaders: { 'content-type': ['text/html'] } }, (response) => {
      headers = response.responseHeaders
    })
    expect(headers).toEqual({ 'content-type': ['text/html'], 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] })
  })

  it('sends the same Content-Security-Policy header as the web host', async () => {
    const rendererDir = mkdtempSync(join(tmpdir(), 'cxr-csp-'))
    writeFileSync(join(rendererDir, 'index.html'), '<!doctype html><title>CXR Studio</title>')
    const host = await startWebHost({ handlers: {} as Handlers, rendererDir })
    try {
      const traded = await fetch(host.url, { redirect: 'manual' })
      const cookie = traded.headers.get('set-cookie')!.split(';')[0]
      const page = await fetch(`${host.origin}/`, { headers: { cookie } })
      expect(page.status).toBe(200)
      const app = await fake.state.protocolHandler!(new Request('cxr://app/index.html'))
      expect(page.headers.get('content-security-policy')).toBe(app.headers.get('content-security-policy'))
      expect(page.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY)
    } finally {
      await host.close()
      rmSync(rendererDir, { recursive: true, force: true })
    }
  })

  it('never hands a URL to the operating system: no shell.openExternal in main or the preload', () => {
    const sources = ['main/electron', 'preload'].flatMap((dir) =>
      readdirSync(join(appRoot, dir))
        .filter((name) => name.endsWith('.ts'))
        .map((name) => join(appRoot, dir, name))
    )
    expect(sources.length).toBeGreaterThan(5)
    for (const file of sources) expect(readFileSync(file, 'utf8'), file).not.toMatch(/openExternal|\bshell\b/)
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
