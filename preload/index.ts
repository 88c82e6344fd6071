// The only bridge between the sandboxed renderer and main: `window.cxr`, the typed client generated
// from the contract, riding on ipcRenderer. Bundled as one CommonJS file (sandboxed preloads cannot
// load modules), so it imports nothing but electron and common/.
import { contextBridge, ipcRenderer } from 'electron'
import { ipcChannel, ipcEventChannel, type Envelope } from '../common/contract'
import { createClient, type Transport } from '../common/contract/client'

const transport: Transport = {
  call: (name, request) => ipcRenderer.invoke(ipcChannel(name), request) as Promise<Envelope<unknown>>,
  subscribe(event, listener) {
    const channel = ipcEventChannel(event)
    const forward = (_event: Electron.IpcRendererEvent, payload: unknown) => listener(payload)
    ipcRenderer.on(channel, forward)
    return () => ipcRenderer.off(channel, forward)
  }
}

contextBridge.exposeInMainWorld('cxr', createClient(transport))
