// The workspace's settings file (<workspace>/settings.json): choices that outlive a session and are
// shared by the desktop app, the web host and the CLI. Unknown keys are kept, so an older version
// reading a newer file does not drop what it does not know.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { UserError } from './errors'
import { writeJsonAtomic } from './fs-atomic'

export const SETTINGS_FILE = 'settings.json'

/** Bound of the on-disk decoded-pixel cache by default: about 150 images of 2336 x 2836 x 16 bits. */
export const DEFAULT_DECODED_CACHE_BYTES = 2 * 1024 ** 3

export const WorkspaceSettings = z.looseObject({
  /** Bound of the decoded-pixel cache (core/dicom/decoded-cache) in bytes; 0 turns the cache off. */
  decodedCacheBytes: z.number().int().min(0).optional()
})
export type WorkspaceSettings = z.infer<typeof WorkspaceSettings>

export function settingsFile(workspace: string): string {
  return join(workspace, SETTINGS_FILE)
}

/** The settings, {} when the file does not exist; a malformed file is a UserError naming it. */
export async function readWorkspaceSettings(workspace: string): Promise<WorkspaceSettings> {
  const file = settingsFile(workspace)
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {}
    throw new UserError(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? err})`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new UserError(`${file}: not valid JSON; fix or delete it`)
  }
  const result = WorkspaceSettings.safeParse(parsed)
  if (!result.success)
    throw new UserError(
      `${file}: ${result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`
    )
  return result.data
}

/** Merges `changes` into the settings file (written atomically) and returns the result. */
export async function updateWorkspaceSettings(
  workspace: string,
  changes: Partial<WorkspaceSettings>
): Promise<WorkspaceSettings> {
  const next = WorkspaceSettings.parse({ ...(await readWorkspaceSettings(workspace)), ...changes })
  await writeJsonAtomic(settingsFile(workspace), next)
  return next
}

/** The decoded-pixel cache's bound in force: the setting, else the default. */
export function decodedCacheBytes(settings: WorkspaceSettings): number {
  return settings.decodedCacheBytes ?? DEFAULT_DECODED_CACHE_BYTES
}
