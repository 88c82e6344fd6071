import { BrowserWindow } from 'electron'

export interface MainWindowOptions {
  preload: string
  url: string
  devTools: boolean
}

/** The one window: sandboxed, context-isolated, no Node; it only sees `window.cxr` from the preload. */
export function createMainWindow(options: MainWindowOptions): BrowserWindow {
  const window = new BrowserWindow({
    width: 1440,
    height: 900,
    minWidth: 900,
    minHeight: 600,
    show: false,
    title: 'CXR Studio',
    backgroundColor: '#0b0e12',
    webPreferences: {
      preload: options.preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      navigateOnDragDrop: false,
      spellcheck: false,
      devTools: options.devTools
    }
  })
  window.once('ready-to-show', () => window.show())
  void window.loadURL(options.url)
  return window
}
