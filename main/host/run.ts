// `cxr-studio serve` and the fallback of `cxr-studio start`: the back end plus the web host, until
// Ctrl+C. Prints the tokened URL on stdout (first line: just the URL, so scripts can read it).
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ProgressListener } from '../../common/domain'
import { UserError } from '../core/errors'
import { createBackend } from '../backend/index'
import { isLoopbackAddress } from './access'
import { startWebHost, type WebHost } from './server'

export interface ServeOptions {
  workspace: string
  /** A dataset folder to open before printing the URL. */
  dir?: string
  /** With no `dir` and no recent datasets, open the built-in demo dataset (what `npm start` does). */
  demoWhenNew?: boolean
  host: string
  /** Undefined: try 8787 and the next few ports. */
  port?: number
  onProgress?: ProgressListener
  log?: (line: string) => void
}

const DEFAULT_PORT = 8787

/** out/node/cli.js → out/renderer (the electron-vite build, shared with the desktop app). */
export function rendererDir(): string {
  return fileURLToPath(new URL('../renderer', import.meta.url))
}

export async function serve(options: ServeOptions): Promise<WebHost> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`))
  const dir = rendererDir()
  if (!existsSync(`${dir}/index.html`)) {
    throw new UserError(
      `the UI is not built (${dir}/index.html is missing); run \`npx electron-vite build\` first`
    )
  }
  const backend = createBackend({ workspace: options.workspace, host: 'web' })
  let hash = ''
  const firstRun = !options.dir && options.demoWhenNew && (await backend.handlers.recentDatasets({})).length === 0
  if (options.dir || firstRun) {
    if (firstRun) log('no datasets opened yet: opening the built-in demo dataset')
    const summary = options.dir
      ? await backend.handlers.openDataset({ path: resolve(options.dir) })
      : await backend.handlers.openDemo({})
    hash = `#/d/${summary.datasetId}/studies`
    log(`opened ${summary.root}: ${summary.images} images in ${summary.studies} studies`)
  }
  const host = await listen(options, backend, dir)
  process.stdout.write(`${host.url}${hash}\n`)
  log(
    `CXR Studio is serving ${isLoopbackAddress(options.host) ? 'on this machine only' : `on ${options.host}`}; open the URL above (it carries the access token). Ctrl+C stops it.`
  )
  if (!isLoopbackAddress(options.host))
    log('warning: anyone who can reach this address and has the token can read your datasets')
  const stop = () => {
    void host
      .close()
      .then(() => backend.close())
      .finally(() => process.exit(0))
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  return host
}

async function listen(
  options: ServeOptions,
  backend: ReturnType<typeof createBackend>,
  rendererDir: string
): Promise<WebHost> {
  const ports =
    options.port !== undefined ? [options.port] : Array.from({ length: 20 }, (_, i) => DEFAULT_PORT + i)
  for (const port of ports) {
    try {
      return await startWebHost({
        handlers: backend.handlers,
        subscribe: backend.onEvent,
        rendererDir,
        host: options.host,
        port,
        logError: backend.logError
      })
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'EADDRINUSE' && ports.length > 1) continue
      if (code === 'EADDRINUSE') throw new UserError(`port ${port} is in use; choose another with --port`)
      if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
        throw new UserError(`${options.host}: not an address of this machine`)
      throw err
    }
  }
  throw new UserError(`ports ${ports[0]}-${ports[ports.length - 1]} are all in use; choose one with --port`)
}
