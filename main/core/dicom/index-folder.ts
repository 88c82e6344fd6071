// Indexing a folder of DICOM files: header-only reads, concurrent, with a per-file cache in the
// workspace keyed by size + mtime so re-opening a 7,000-image dataset touches only what changed.
import { closeSync, openSync, readSync, readdirSync, statSync, type Dirent, type Stats } from 'node:fs'
import { open, readFile, readdir, realpath, stat } from 'node:fs/promises'
import { join, resolve, sep } from 'node:path'
import type { DatasetIndex, FileError, ImageRecord, ProgressListener } from '../../../common/domain'
import { FileReadError, UserError, errorMessage } from '../errors'
import { writeJsonAtomic } from '../fs-atomic'
import { datasetCacheDir } from '../workspace'
import { distinctImageIds, readHeaderWithStat, type ReadMode } from './header'

export interface IndexOptions {
  /** Workspace folder for the index cache; without it nothing is cached. */
  workspace?: string
  /** Concurrent reads once the files turn out to be slow to read (see SLOW_CALL_MS). */
  concurrency?: number
  /** 'async' reads every file through the thread pool from the start (tests of that path). */
  readMode?: 'auto' | 'async'
  onProgress?: ProgressListener
  signal?: AbortSignal
}

/**
 * Files in the page cache (a dataset just copied or looked at) answer a system call in microseconds,
 * and a thread-pool round trip for each of the four calls per file (stat, open, read, close) costs
 * more than the work: `cxr-studio index` of 1,050 files took 1.24 s with them and 0.90 s without
 * (medians of 7, load 11-13). So files are read on this thread while each call is fast; a call
 * slower than this (4 of them per file) means a cold disk or a network share, where concurrent reads
 * hide the latency, and the rest goes to async lanes. A busy CPU can trip it too: then the indexer
 * simply works as it did before.
 */
const SLOW_CALL_MS = 4
/** Synchronous stretches yield to the event loop this often, so progress, cancel and IPC go on. */
const SLICE_MS = 16

/** Bump when ImageRecord or the reading rules change, so old caches are ignored. */
export const INDEX_CACHE_VERSION = 3

interface CacheEntry {
  size: number
  mtimeMs: number
  record?: ImageRecord
  reason?: string
}

interface IndexCache {
  version: number
  root: string
  entries: Record<string, CacheEntry>
}

interface Candidate {
  rel: string
  abs: string
  /** Extension-less files are indexed only when they carry the DICM marker. */
  probe: boolean
}

export function indexCachePath(workspace: string, root: string): string {
  return join(datasetCacheDir(workspace, root), 'index.json')
}

async function loadCache(path: string, root: string): Promise<Record<string, CacheEntry>> {
  try {
    const cache = JSON.parse(await readFile(path, 'utf8')) as IndexCache
    if (cache.version === INDEX_CACHE_VERSION && cache.root === root && cache.entries) return cache.entries
  } catch {
    // missing or unreadable cache: index from scratch
  }
  return {}
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error
    ? signal.reason
    : new DOMException('indexing was cancelled', 'AbortError')
}

/**
 * Lists candidate files. Symbolic links to folders are followed (datasets are often linked in from
 * a bigger disk) unless the target overlaps a folder already covered (the root, or an earlier
 * link's target), so links never loop or list a file twice.
 */
async function walk(
  root: string,
  errors: FileError[],
  signal: AbortSignal | undefined,
  mode: ReadMode
): Promise<{ candidates: Candidate[]; mode: ReadMode }> {
  const found: Candidate[] = []
  const pending = ['']
  const covered = [await realpath(root)]
  const overlaps = (target: string) =>
    covered.some((folder) => isWithin(target, folder) || isWithin(folder, target))
  let sliceStart = performance.now()
  while (pending.length) {
    if (signal?.aborted) throw abortError(signal)
    const rel = pending.pop()!
    let entries: Dirent[]
    try {
      if (mode === 'sync') {
        const start = performance.now()
        entries = readdirSync(join(root, rel), { withFileTypes: true })
        const end = performance.now()
        if (end - start > SLOW_CALL_MS) mode = 'async'
        else if (end - sliceStart > SLICE_MS) {
          await yieldToEventLoop()
          sliceStart = performance.now()
        }
      } else entries = await readdir(join(root, rel), { withFileTypes: true })
    } catch (err) {
      errors.push({
        path: rel || '.',
        reason: `cannot read folder: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}`
      })
      continue
    }
    // name order, so that which of two links to one folder is followed does not depend on the disk
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    for (const entry of entries) {
      const childRel = rel ? `${rel}/${entry.name}` : entry.name
      if (entry.isSymbolicLink()) {
        const target = await linkedFolder(join(root, childRel))
        if (target) {
          if (!entry.name.startsWith('.') && !overlaps(target)) {
            covered.push(target)
            pending.push(childRel)
          }
          continue
        }
      }
      if (entry.isDirectory()) {
        if (!entry.name.startsWith('.')) pending.push(childRel)
      } else if (entry.isFile() || entry.isSymbolicLink()) {
        const lower = entry.name.toLowerCase()
        if (lower.endsWith('.dcm')) found.push({ rel: childRel, abs: join(root, childRel), probe: false })
        else if (!entry.name.includes('.'))
          found.push({ rel: childRel, abs: join(root, childRel), probe: true })
      }
    }
  }
  return { candidates: found, mode }
}

function isWithin(path: string, folder: string): boolean {
  return path === folder || path.startsWith(folder.endsWith(sep) ? folder : folder + sep)
}

/** The real path of the folder a symbolic link points to, or null (a file, or a dangling link). */
async function linkedFolder(path: string): Promise<string | null> {
  try {
    return (await stat(path)).isDirectory() ? await realpath(path) : null
  } catch {
    return null
  }
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve))

function hasDicmMarkerSync(path: string): boolean {
  const fd = openSync(path, 'r')
  try {
    const bytes = new Uint8Array(4)
    const bytesRead = readSync(fd, bytes, 0, 4, 128)
    return bytesRead === 4 && bytes[0] === 0x44 && bytes[1] === 0x49 && bytes[2] === 0x43 && bytes[3] === 0x4d
  } finally {
    closeSync(fd)
  }
}

async function hasDicmMarker(path: string): Promise<boolean> {
  const handle = await open(path, 'r')
  try {
    const bytes = new Uint8Array(4)
    const { bytesRead } = await handle.read(bytes, 0, 4, 128)
    return bytesRead === 4 && bytes[0] === 0x44 && bytes[1] === 0x49 && bytes[2] === 0x43 && bytes[3] === 0x4d
  } finally {
    await handle.close()
  }
}

/**
 * Indexes every DICOM file under `root` (`*.dcm`, any case, plus extension-less files with a DICM
 * marker). A file that cannot be read becomes an error record; the rest is still indexed.
 */
export async function indexFolder(root: string, options: IndexOptions = {}): Promise<DatasetIndex> {
  const absRoot = resolve(root)
  const rootStat = await stat(absRoot).catch((err: NodeJS.ErrnoException) => {
    throw new UserError(`${root}: cannot open dataset folder (${err.code ?? errorMessage(err)})`)
  })
  if (!rootStat.isDirectory()) throw new UserError(`${root}: not a folder`)
  const { signal, onProgress } = options
  const errors: FileError[] = []
  // a folder slow to list means a slow disk: then the files are read concurrently from the start
  const { candidates, mode: firstMode } = await walk(
    absRoot,
    errors,
    signal,
    options.readMode === 'async' ? 'async' : 'sync'
  )
  const cachePath = options.workspace ? indexCachePath(options.workspace, absRoot) : null
  const cached = cachePath ? await loadCache(cachePath, absRoot) : {}
  const entries: Record<string, CacheEntry> = {}
  const images: ImageRecord[] = []
  let changed = cachePath !== null && Object.keys(cached).length === 0
  let done = 0
  let lastReport = 0
  const report = (force = false) => {
    const now = Date.now()
    if (onProgress && (force || now - lastReport >= 100)) {
      lastReport = now
      onProgress({ stage: 'index', done, total: candidates.length })
    }
  }
  report(true)

  const indexOne = async (candidate: Candidate, mode: ReadMode) => {
    let info: Stats
    try {
      if (mode === 'sync') {
        info = statSync(candidate.abs)
        if (!info.isFile()) return
        if (candidate.probe && !hasDicmMarkerSync(candidate.abs)) return
      } else {
        info = await stat(candidate.abs)
        if (!info.isFile()) return
        if (candidate.probe && !(await hasDicmMarker(candidate.abs))) return
      }
    } catch (err) {
      errors.push({
        path: candidate.rel,
        reason: `cannot read: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}`
      })
      return
    }
    const hit = cached[candidate.rel]
    let entry: CacheEntry
    if (hit && hit.size === info.size && hit.mtimeMs === info.mtimeMs) {
      entry = hit
    } else {
      changed = true
      try {
        entry = {
          size: info.size,
          mtimeMs: info.mtimeMs,
          record: await readHeaderWithStat(candidate.abs, candidate.rel, info, mode)
        }
      } catch (err) {
        entry = {
          size: info.size,
          mtimeMs: info.mtimeMs,
          reason: err instanceof FileReadError ? err.reason : errorMessage(err)
        }
      }
    }
    entries[candidate.rel] = entry
    if (entry.record) images.push(entry.record)
    else errors.push({ path: candidate.rel, reason: entry.reason ?? 'unreadable' })
  }

  let next = 0
  if (firstMode === 'sync') {
    // one file at a time on this thread while every file is quick to read
    let sliceStart = performance.now()
    while (next < candidates.length) {
      if (signal?.aborted) throw abortError(signal)
      const start = performance.now()
      await indexOne(candidates[next++], 'sync')
      done++
      report()
      const end = performance.now()
      if (end - start > 4 * SLOW_CALL_MS) break
      if (end - sliceStart > SLICE_MS) {
        await yieldToEventLoop()
        sliceStart = performance.now()
      }
    }
  }
  const concurrency = Math.max(1, options.concurrency ?? 32)
  const lanes = Array.from({ length: Math.min(concurrency, candidates.length) }, async () => {
    while (next < candidates.length) {
      if (signal?.aborted) throw abortError(signal)
      await indexOne(candidates[next++], 'async')
      done++
      report()
    }
  })
  await Promise.all(lanes)
  report(true)

  if (Object.keys(cached).some((path) => !(path in entries))) changed = true
  if (cachePath && changed)
    await writeJsonAtomic(cachePath, {
      version: INDEX_CACHE_VERSION,
      root: absRoot,
      entries
    } satisfies IndexCache)
  const byPath = (a: { path: string }, b: { path: string }) =>
    a.path < b.path ? -1 : a.path > b.path ? 1 : 0
  // ids are made distinct here, over the whole folder, so the cache keeps each file's own header ids
  return { root: absRoot, images: distinctImageIds(images.sort(byPath)), errors: errors.sort(byPath) }
}
