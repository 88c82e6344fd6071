// A fake `electron` module for loading main/electron/index.ts without a binary: it records what main
// registers (IPC handlers, the protocol handler, permission and header hooks, windows, utility
// processes) so a test can call into them. A test file mocks electron with it and sets
// `fake.state.isPackaged` before importing main:
//   vi.mock('electron', async () => (await import('./fake-electron')).electron)
import { EventEmitter } from 'node:events'
import { vi } from 'vitest'

type Listener = (...args: unknown[]) => void

export interface FakeWindow {
  options: Record<string, unknown>
  url: string
  webContents: { id: number; send: (...a: unknown[]) => void }
}

export interface FakeChild {
  script: string
  messages: unknown[]
  emit: (event: string, value: unknown) => void
}

export const fake = {
  handlers: new Map<string, (event: unknown, request: unknown) => Promise<unknown>>(),
  appEvents: new Map<string, Listener>(),
  windows: [] as FakeWindow[],
  children: [] as FakeChild[],
  state: {
    isPackaged: false,
    sandboxEnabled: false,
    privileged: [] as unknown[],
    protocolHandler: null as null | ((request: Request) => Promise<Response>),
    permissionRequest: null as
      null | ((contents: unknown, permission: string, callback: (ok: boolean) => void) => void),
    permissionCheck: null as null | ((contents: unknown, permission: string) => boolean),
    headersReceived: null as
      | null
      | ((
          details: { responseHeaders?: Record<string, string[]> },
          callback: (response: { responseHeaders: Record<string, string[]> }) => void
        ) => void),
    applicationMenu: null as null | { template: Array<{ label?: string; submenu?: unknown[] }> },
    recentDocuments: [] as string[],
    dialogResult: { canceled: false, filePaths: ['/data/picked'] },
    fetched: [] as string[]
  }
}

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

export const electron = {
  app: {
    enableSandbox: () => (fake.state.sandboxEnabled = true),
    requestSingleInstanceLock: () => true,
    quit: vi.fn(),
    whenReady: () => Promise.resolve(),
    on: (event: string, listener: Listener) => fake.appEvents.set(event, listener),
    get isPackaged() {
      return fake.state.isPackaged
    },
    addRecentDocument: (path: string) => fake.state.recentDocuments.push(path)
  },
  BrowserWindow,
  dialog: { showOpenDialog: vi.fn(async () => fake.state.dialogResult) },
  ipcMain: {
    handle: (channel: string, listener: (event: unknown, request: unknown) => Promise<unknown>) =>
      fake.handlers.set(channel, listener),
    removeHandler: (channel: string) => fake.handlers.delete(channel)
  },
  Menu: {
    buildFromTemplate: (template: never) => ({ template }),
    setApplicationMenu: (menu: never) => (fake.state.applicationMenu = menu)
  },
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
      webRequest: { onHeadersReceived: (handler: never) => (fake.state.headersReceived = handler) }
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

/** The IPC handler main bound for `channel`. */
export function handler(channel: string): (event: unknown, request: unknown) => Promise<unknown> {
  const found = fake.handlers.get(channel)
  if (!found) throw new Error(`main bound no handler for ${channel}`)
  return found
}

/** Fires main's `web-contents-created` hooks on a fake webContents and returns it. */
export function createdContents(): EventEmitter & { setWindowOpenHandler: ReturnType<typeof vi.fn> } {
  const contents = Object.assign(new EventEmitter(), { setWindowOpenHandler: vi.fn() })
  fake.appEvents.get('web-contents-created')!({}, contents)
  return contents
}
