// Electron main: windows, menu, dialogs and the IPC binding. Everything else (datasets, decoding,
// jobs) runs in the back-end utility process; main only checks and forwards.
import { app, BrowserWindow, dialog, ipcMain, Menu } from 'electron'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { CallName, Envelope, MenuCommand, RecentDataset } from '../../common/contract'
import { workerScript } from '../core/worker-scripts'
import { resolveWorkspace, WORKSPACE_ENV } from '../core/workspace'
import { startBackend } from './backend-client'
import { bindContract, sendEvent, senderCheck } from './ipc'
import { buildMenu } from './menu'
import { APP_ORIGIN, hardenApp, registerAppScheme, serveRenderer } from './security'
import { createMainWindow } from './window'

/** out/main/index.js → the package root (also inside app.asar). */
const appRoot = fileURLToPath(new URL('../..', import.meta.url))
/**
 * electron-vite's dev server, in development only: a packaged app that took its page (and the IPC
 * sender check's trusted origin) from the environment would run whatever a local process serves.
 */
const devServerUrl = app.isPackaged ? undefined : process.env.ELECTRON_RENDERER_URL
const rendererUrl = devServerUrl ?? `${APP_ORIGIN}/index.html`
const workspace = resolveWorkspace()
/** `cxr-studio start DIR` passes the folder to open here. */
const openAtLaunch = process.env.CXR_STUDIO_OPEN

registerAppScheme()
app.enableSandbox()
if (!app.requestSingleInstanceLock()) app.quit()

let mainWindow: BrowserWindow | null = null

app.whenReady().then(() => {
  const isAppUrl = (url: string) => url.startsWith(devServerUrl ?? `${APP_ORIGIN}/`)
  hardenApp(isAppUrl)
  serveRenderer(join(appRoot, 'out/renderer'))

  // from app.asar.unpacked when packaged: a utility process needs the script as a real file
  const backend = startBackend(workerScript('backend-process'), {
    ...process.env,
    [WORKSPACE_ENV]: workspace
  })
  const send = (command: MenuCommand) =>
    mainWindow && sendEvent(mainWindow.webContents, 'menuCommand', command)

  const pickFolder = async (): Promise<string | null> => {
    const options = { title: 'Open a dataset folder', properties: ['openDirectory' as const] }
    const result = mainWindow
      ? await dialog.showOpenDialog(mainWindow, options)
      : await dialog.showOpenDialog(options)
    return result.canceled ? null : (result.filePaths[0] ?? null)
  }

  const refreshMenu = async () => {
    const recent = await backend.invoke('recentDatasets', {})
    const list = recent.ok ? (recent.value as RecentDataset[]) : []
    Menu.setApplicationMenu(
      buildMenu(list, {
        openFolder: () => void pickFolder().then((path) => path && send({ command: 'open-folder', path })),
        command: send,
        devTools: !app.isPackaged
      })
    )
  }

  const invoke = async (name: CallName, request: unknown): Promise<Envelope<unknown>> => {
    if (name === 'pickFolder') return { ok: true, value: { path: await pickFolder() } }
    const envelope = await backend.invoke(name, request)
    if (envelope.ok && (name === 'openDataset' || name === 'openDemo')) {
      app.addRecentDocument((envelope.value as { root: string }).root)
      void refreshMenu()
    }
    return envelope
  }

  bindContract(ipcMain, invoke, {
    isTrustedSender: senderCheck(rendererUrl, () =>
      BrowserWindow.getAllWindows().map((window) => window.webContents.id)
    ),
    onRefused: (_name, reason) => console.warn(`cxr-studio: ${reason}`)
  })
  backend.onEvent((event, payload) => {
    for (const window of BrowserWindow.getAllWindows()) sendEvent(window.webContents, event, payload as never)
  })
  void refreshMenu()

  const openWindow = () => {
    mainWindow = createMainWindow({
      preload: join(appRoot, 'out/preload/index.cjs'),
      url: rendererUrl,
      devTools: !app.isPackaged
    })
    mainWindow.on('closed', () => (mainWindow = null))
    if (openAtLaunch)
      mainWindow.webContents.once('did-finish-load', () =>
        send({ command: 'open-folder', path: openAtLaunch })
      )
  }
  openWindow()

  app.on('second-instance', () => {
    if (!mainWindow) return openWindow()
    if (mainWindow.isMinimized()) mainWindow.restore()
    mainWindow.focus()
  })
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) openWindow()
  })
  app.on('before-quit', () => backend.stop())
})

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit()
})
