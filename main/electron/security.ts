// Electron security checklist, applied once for the whole app: a privileged cxr:// scheme instead of
// file://, the CSP of common/csp.ts (the web host sends the same), no permissions but notifications,
// no navigation, no new windows, no <webview>.
import { app, net, protocol, session, type Session } from 'electron'
import { extname, join, normalize, sep } from 'node:path'
import { pathToFileURL } from 'node:url'
import { CONTENT_SECURITY_POLICY as CSP } from '../../common/csp'

export const APP_SCHEME = 'cxr'
export const APP_ORIGIN = `${APP_SCHEME}://app`

/** Must run before `app.ready`. */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([
    { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }
  ])
}

/** Serves out/renderer under cxr://app/, confined to that folder. */
export function serveRenderer(rendererDir: string, target: Session = session.defaultSession): void {
  const root = normalize(rendererDir)
  target.protocol.handle(APP_SCHEME, async (request) => {
    const url = new URL(request.url)
    const relative = decodeURIComponent(url.pathname).replace(/^\/+/, '') || 'index.html'
    const file = normalize(join(root, relative))
    if (url.host !== 'app' || !file.startsWith(root + sep)) return new Response('not found', { status: 404 })
    const response = await net.fetch(pathToFileURL(file).href).catch(() => null)
    if (!response?.ok) return new Response('not found', { status: 404 })
    const headers = new Headers(response.headers)
    if (extname(file) === '.html') headers.set('content-security-policy', CSP)
    headers.set('x-content-type-options', 'nosniff')
    return new Response(response.body, { status: response.status, headers })
  })
}

export function hardenApp(isAppUrl: (url: string) => boolean): void {
  const defaultSession = session.defaultSession
  // one permission only: desktop notifications (a training run says when it ends)
  defaultSession.setPermissionRequestHandler((_contents, permission, callback) =>
    callback(permission === 'notifications')
  )
  defaultSession.setPermissionCheckHandler((_contents, permission) => permission === 'notifications')
  // The dev server (electron-vite dev) sends no CSP of its own.
  defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CSP] } })
  })
  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-navigate', (event, url) => {
      if (!isAppUrl(url)) event.preventDefault()
    })
    contents.on('will-redirect', (event, url) => {
      if (!isAppUrl(url)) event.preventDefault()
    })
    contents.on('will-attach-webview', (event) => event.preventDefault())
    contents.setWindowOpenHandler(() => ({ action: 'deny' }))
  })
}
