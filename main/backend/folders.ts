// Paths typed by a user (in the browser's path field, or sent by any page holding the token) are
// checked here before any service sees them: absolute, existing, the right kind, readable.
import { constants } from 'node:fs'
import { access, realpath, stat } from 'node:fs/promises'
import { homedir } from 'node:os'
import { isAbsolute, join, resolve, sep } from 'node:path'
import { UserError } from '../core/errors'

export async function validateFolder(input: string): Promise<string> {
  return validatePath(input, 'folder')
}

export async function validateFile(input: string): Promise<string> {
  return validatePath(input, 'file')
}

/**
 * A file under one of `roots` (the places the user keeps files for the app), else a UserError that
 * says `rule`. The typed path is checked before anything is looked at, so a path outside says the
 * same whether or not it exists, and the real path again after symbolic links are followed.
 */
export async function validateFileUnder(
  input: string,
  roots: readonly string[],
  rule: string
): Promise<string> {
  const typed = input.trim()
  const refused = () => new UserError(`${typed}: not read: ${rule}`)
  const allowed = [...roots, ...(await Promise.all(roots.map((root) => realpath(root).catch(() => root))))]
  if (!isUnderAny(resolve(absolutePath(typed, 'file')), allowed)) throw refused()
  const real = await validateFile(typed)
  if (!isUnderAny(real, allowed)) throw refused()
  return real
}

function isUnderAny(path: string, roots: readonly string[]): boolean {
  return roots.some((root) => path.startsWith(resolve(root) + sep))
}

/** The typed path with `~` expanded; a UserError unless it is a non-empty absolute path without NUL. */
function absolutePath(typed: string, kind: 'folder' | 'file'): string {
  if (!typed) throw new UserError(`type the ${kind}'s path`)
  if (typed.includes('\0')) throw new UserError(`${JSON.stringify(typed)}: the path contains a NUL character`)
  const expanded =
    typed === '~' ? homedir() : typed.startsWith('~/') ? join(homedir(), typed.slice(2)) : typed
  if (!isAbsolute(expanded))
    throw new UserError(`${typed}: type an absolute path (for example /data/siim-covid19)`)
  return expanded
}

async function validatePath(input: string, kind: 'folder' | 'file'): Promise<string> {
  const typed = input.trim()
  const expanded = absolutePath(typed, kind)
  let real: string
  try {
    real = await realpath(expanded)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new UserError(
      code === 'ENOENT' || code === 'ENOTDIR'
        ? `${typed}: no such ${kind}`
        : `${typed}: cannot be read (${code})`
    )
  }
  const info = await stat(real)
  if (kind === 'folder' && !info.isDirectory()) throw new UserError(`${typed}: not a folder`)
  if (kind === 'file' && !info.isFile()) throw new UserError(`${typed}: not a file`)
  try {
    await access(real, kind === 'folder' ? constants.R_OK | constants.X_OK : constants.R_OK)
  } catch {
    throw new UserError(`${typed}: permission denied`)
  }
  return real
}
