// What a write may replace (DESIGN rule 6: writes only ever replace regular files the app owns, and
// source datasets are never written). Two checks, one rule:
//  - replaceableFile: every atomic write (fs-atomic.ts) asks it. A rename would turn a device, FIFO,
//    socket or folder at the target into a regular file (`decode --npy /dev/null` as root), so only
//    a missing target or a regular file (also behind a symlink) may be replaced.
//  - assertOutputAllowed: every command, job and back-end export asks it for the path the user chose,
//    with the paths it reads: the output must not be an input file nor lie inside a dataset folder.
import { lstat, readlink, realpath, stat } from 'node:fs/promises'
import type { Stats } from 'node:fs'
import { basename, dirname, join, resolve, sep } from 'node:path'
import { UserError } from './errors'

/** A path the command reads and so must never write. */
export interface ReadOnlySource {
  path: string
  kind: 'dataset' | 'input'
}

/** A dataset folder: nothing inside it is written. */
export const datasetSource = (root: string): ReadOnlySource => ({ path: root, kind: 'dataset' })
/** A file the command reads (a DICOM, a truth CSV, a predictions JSON): never written over. */
export const inputSource = (file: string): ReadOnlySource => ({ path: file, kind: 'input' })

/**
 * The path an atomic write should replace: `path` itself when it is missing or a regular file, the
 * file a symlink names when that is a regular file (the link stays). Anything else is a UserError
 * naming the path and what is there.
 */
export async function replaceableFile(path: string): Promise<string> {
  const info = await lstat(path).catch(missing)
  if (!info || info.isFile()) return path
  if (!info.isSymbolicLink()) throw notRegular(path, kindOf(info))
  const real = await realpath(path).catch(missing)
  const target = real === null ? null : await stat(real).catch(missing)
  if (real === null || target === null)
    throw new UserError(
      `${path}: is a symbolic link to ${await linkText(path)}, which does not exist; only regular files are replaced`
    )
  if (!target.isFile()) throw notRegular(path, `a symbolic link to ${real}, ${kindOf(target)}`)
  return real
}

/**
 * Refuses an output the user chose when it is an input of the command (the same file, also through
 * a symlink or a hard link), lies inside a dataset folder of `sources`, or is not what the command
 * writes there (`file`: a regular file or nothing; `folder`: a folder or nothing).
 */
export async function assertOutputAllowed(
  out: string,
  sources: readonly ReadOnlySource[],
  expect: 'file' | 'folder' = 'file'
): Promise<void> {
  const real = await realPathOfNearest(out)
  const outInfo = await stat(out).catch(missing)
  for (const source of sources) {
    const sourceReal = await realPathOfNearest(source.path)
    if (source.kind === 'dataset') {
      if (real === sourceReal || real.startsWith(sourceReal + sep))
        throw new UserError(
          `${out}: must not be inside the dataset folder ${source.path}; source datasets are never written`
        )
      continue
    }
    const sourceInfo = outInfo && (await stat(source.path).catch(missing))
    const sameFile = sourceInfo && sourceInfo.dev === outInfo.dev && sourceInfo.ino === outInfo.ino
    if (real === sourceReal || sameFile)
      throw new UserError(`${out}: is the input file ${source.path}; write the output elsewhere`)
  }
  if (expect === 'file') {
    await replaceableFile(out)
  } else if (outInfo && !outInfo.isDirectory()) {
    throw new UserError(`${out}: exists and is not a folder`)
  }
}

/** The real path of `path`, resolving symlinks of its nearest existing ancestor (it may not exist yet). */
export async function realPathOfNearest(path: string): Promise<string> {
  const absolute = resolve(path)
  try {
    return await realpath(absolute)
  } catch {
    const parent = dirname(absolute)
    return parent === absolute ? absolute : join(await realPathOfNearest(parent), basename(absolute))
  }
}

function notRegular(path: string, what: string): UserError {
  return new UserError(`${path}: is ${what}, not a regular file; only regular files are replaced`)
}

function kindOf(info: Stats): string {
  if (info.isDirectory()) return 'a folder'
  if (info.isFIFO()) return 'a FIFO (named pipe)'
  if (info.isCharacterDevice()) return 'a character device'
  if (info.isBlockDevice()) return 'a block device'
  if (info.isSocket()) return 'a socket'
  if (info.isSymbolicLink()) return 'a symbolic link'
  return 'a special file'
}

async function linkText(path: string): Promise<string> {
  const target = await readlink(path).catch(() => '?')
  return resolve(dirname(path), target)
}

/**
 * ENOENT (and ENOTDIR: a parent is a file) mean "nothing there". A path that cannot even be looked
 * at (a name too long, a symlink loop, no permission) is the user's to change: an error naming it,
 * not a bug. Other errors are real.
 */
function missing(err: NodeJS.ErrnoException): null {
  if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return null
  const reason = UNUSABLE_PATH[err.code ?? '']
  if (reason) throw new UserError(`${err.path ?? 'the path'}: ${reason}`)
  throw err
}

const UNUSABLE_PATH: Record<string, string> = {
  ENAMETOOLONG: 'a name in the path is longer than the file system allows',
  ELOOP: 'too many levels of symbolic links',
  EACCES: 'permission denied',
  EPERM: 'permission denied'
}
