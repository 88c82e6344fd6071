import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Command } from 'commander'
import { WORKSPACE_ENV } from '../../core/workspace'
import { workspaceOf } from '../context'
import { serve } from '../../host/run'
import { parsePort } from './serve'

/** out/node/cli.js → the package root. */
const appRoot = fileURLToPath(new URL('../..', import.meta.url))

export function registerStart(program: Command): void {
  program
    .command('start')
    .description(
      'open the desktop app; where Electron cannot run (no binary or no display), serve the same UI to a browser'
    )
    .argument('[dir]', 'dataset folder to open first')
    .option('--port <n>', 'web host port when falling back (default: 8787, or the next free one)', parsePort)
    .option('--host <address>', 'web host address when falling back', '127.0.0.1')
    .action(async (dir: string | undefined, opts: { port?: number; host: string }, cmd: Command) => {
      const workspace = workspaceOf(cmd)
      const why = whyNoDesktop()
      if (!why) {
        const code = await runElectron(electronBinary()!, workspace, dir)
        process.exitCode = code
        return
      }
      process.stderr.write(`cxr-studio: ${why}; starting the web host instead\n`)
      await serve({ workspace, dir, host: opts.host, port: opts.port, demoWhenNew: true })
      await new Promise<never>(() => undefined)
    })
}

/** One line saying why the desktop window cannot open here, or null when it can. */
export function whyNoDesktop(env = process.env, platform = process.platform): string | null {
  if (!electronBinary(env))
    return 'no Electron binary (node_modules/electron/dist is missing; it could not be downloaded on this machine)'
  if (platform === 'linux' && !env.DISPLAY && !env.WAYLAND_DISPLAY)
    return 'no display ($DISPLAY and $WAYLAND_DISPLAY are unset)'
  if (!existsSync(join(appRoot, 'out/main/index.js')))
    return 'the desktop app is not built (run `npx electron-vite build`)'
  return null
}

/** The Electron executable, found without require('electron') (which would try to download it). */
export function electronBinary(env = process.env): string | null {
  let packageDir: string
  try {
    packageDir = dirname(createRequire(join(appRoot, 'package.json')).resolve('electron/package.json'))
  } catch {
    return null
  }
  const pathFile = join(packageDir, 'path.txt')
  if (!existsSync(pathFile)) return null
  const relative = readFileSync(pathFile, 'utf8').trim()
  const binary = env.ELECTRON_OVERRIDE_DIST_PATH
    ? join(env.ELECTRON_OVERRIDE_DIST_PATH, relative)
    : join(packageDir, 'dist', relative)
  return existsSync(binary) ? binary : null
}

function runElectron(binary: string, workspace: string, dir: string | undefined): Promise<number> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    [WORKSPACE_ENV]: workspace,
    ...(dir ? { CXR_STUDIO_OPEN: resolve(dir) } : {})
  }
  delete env.ELECTRON_RUN_AS_NODE
  const child = spawn(binary, [appRoot], { stdio: 'inherit', env })
  return new Promise((resolve) => child.on('exit', (code) => resolve(code ?? 0)))
}
