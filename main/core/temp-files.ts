// Our temporary names, and removing the ones a killed process left behind. Every temp file or folder
// the app makes beside its target is `.<name>.<pid>-<12 hex>.tmp`: the pid says who is writing it, so
// a sweep removes only what no live process holds, and only names of exactly this shape (never a
// user's file that happens to end in .tmp).
import { randomBytes } from 'node:crypto'
import type { Dirent } from 'node:fs'
import { lstat, readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'

/** `.<name>.<pid>-<hex>.tmp`, the temp beside `name` that this process writes and renames. */
export function tempName(name: string): string {
  return `.${name}.${process.pid}-${randomBytes(6).toString('hex')}.tmp`
}

// Ours now, and the shapes older versions wrote without a pid (fs-atomic and checkpoint folders:
// `.<name>.<12 hex>.tmp`; the demo dataset: `.demo-dataset-<8 hex>`).
const TEMP = /^\..+\.(\d+)-[0-9a-f]{12}\.tmp$/
const LEGACY_TEMP = /^\..+\.[0-9a-f]{12}\.tmp$/
const LEGACY_DEMO = /^\.demo-dataset-[0-9a-f]{8}$/

/** When this process started (ms since the epoch): a temp older than that is not one of its own writes. */
const PROCESS_START = performance.timeOrigin

/** True when `name` is one of our temp names and no live process can still be writing it. */
export async function isStaleTemp(dir: string, name: string): Promise<boolean> {
  const match = TEMP.exec(name)
  if (match) {
    const pid = Number(match[1])
    if (pid !== process.pid) return !isAlive(pid)
    // our own pid: ours in flight, unless it was written before we started (a reused pid)
    return olderThanStart(join(dir, name))
  }
  if (LEGACY_TEMP.test(name) || LEGACY_DEMO.test(name)) return olderThanStart(join(dir, name))
  return false
}

export interface SweepOptions {
  /** Folder levels below `dir` to look into as well (0: `dir` only). */
  depth?: number
}

/**
 * Removes the stale temp files and folders of `dir` (and of its subfolders down to `depth`);
 * returns what was removed. Symlinks are not followed and unreadable folders are skipped: a sweep
 * tidies up, it never fails the work that asked for it.
 */
export async function removeStaleTemps(dir: string, options: SweepOptions = {}): Promise<string[]> {
  const removed: string[] = []
  const visit = async (folder: string, depth: number): Promise<void> => {
    const entries: Dirent[] = await readdir(folder, { withFileTypes: true }).catch(() => [])
    for (const entry of entries) {
      const path = join(folder, entry.name)
      if (await isStaleTemp(folder, entry.name)) {
        await rm(path, { recursive: true, force: true }).then(
          () => removed.push(path),
          () => undefined
        )
      } else if (entry.isDirectory() && depth > 0) {
        await visit(path, depth - 1)
      }
    }
  }
  await visit(dir, options.depth ?? 0)
  return removed
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: it exists but belongs to someone else, so it may be writing
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

async function olderThanStart(path: string): Promise<boolean> {
  const info = await lstat(path).catch(() => null)
  return info !== null && info.mtimeMs < PROCESS_START
}
