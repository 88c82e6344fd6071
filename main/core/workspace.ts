import { createHash } from 'node:crypto'
import { realpathSync } from 'node:fs'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { removeStaleTemps } from './temp-files'

export const WORKSPACE_ENV = 'CXR_STUDIO_WORKSPACE'

/**
 * The OS app-data folder, matching Electron's `app.getPath('userData')` for an app named
 * "CXR Studio", so the desktop app, the web host and the CLI share one workspace.
 */
export function defaultWorkspace(platform: NodeJS.Platform = process.platform, env = process.env): string {
  if (platform === 'win32') return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'CXR Studio')
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'CXR Studio')
  return join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'CXR Studio')
}

/** `--workspace DIR` wins, then $CXR_STUDIO_WORKSPACE, then the OS app-data folder. */
export function resolveWorkspace(flag?: string, env = process.env): string {
  if (flag) return resolve(flag)
  if (env[WORKSPACE_ENV]) return resolve(env[WORKSPACE_ENV]!)
  return defaultWorkspace(process.platform, env)
}

/** A dataset's cache folder inside the workspace, keyed by the dataset's real path. */
export function datasetCacheDir(workspace: string, datasetRoot: string): string {
  let real = resolve(datasetRoot)
  try {
    real = realpathSync(real)
  } catch {
    // a missing folder is reported by whoever reads it; keep the resolved path as the key
  }
  const key = createHash('sha1').update(real).digest('hex').slice(0, 16)
  return join(workspace, 'datasets', key)
}

/**
 * Folder levels of the workspace that hold files we write atomically: datasets/<key>/thumbnails/<size>/,
 * datasets/<key>/tensors/<size>/, exports/<name>/images/<subset>/, runs/<run>/checkpoints/ and
 * demo-dataset/train/<study>/<series>/ are four levels down.
 */
const WORKSPACE_DEPTH = 4

/**
 * Removes what killed processes left in the workspace: our temp files and folders that no live
 * process holds (core/temp-files.ts). Returns their paths. Never throws: it only tidies.
 */
export function removeWorkspaceLeftovers(workspace: string): Promise<string[]> {
  return removeStaleTemps(workspace, { depth: WORKSPACE_DEPTH }).catch(() => [])
}
