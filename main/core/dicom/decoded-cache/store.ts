// The workspace's on-disk cache of decoded images (<workspace>/decoded-pixels/<key>.pixels), bounded
// in bytes, least recently used first out. Several processes (the app, a CLI run) and several decode
// threads share it, so nothing is trusted to memory: an entry appears by rename (a reader sees a whole
// file or none), carries a checksum (a damaged one is deleted and decoded again), and the bound is
// kept by looking at the folder itself after each write. A file's mtime is its last use.
import { createHash } from 'node:crypto'
import type { BigIntStats } from 'node:fs'
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs'
import { mkdir, readdir, rename, rm, stat, unlink, utimes, writeFile } from 'node:fs/promises'
import { dirname, join, relative, resolve, isAbsolute } from 'node:path'
import { version as APP_VERSION } from '../../../../package.json'
import type { DecodedImage } from '../../../../common/pixels'
import { decodedCacheBytes, readWorkspaceSettings } from '../../settings'
import { removeStaleTemps, tempName } from '../../temp-files'
import { realPathOfNearest } from '../../write-target'
import type { PixelStats } from '../pixel-stats'
import { CorruptEntryError, decodeEntry, encodeEntry, sealEntry } from './entry'

/**
 * Bump when decoded values change for any file (a decoder fix, a new conversion) or the stats kept
 * with them do (pixel-stats.ts): entries made before then match no key and age out.
 */
export const DECODER_VERSION = 1

export const DECODED_CACHE_FOLDER = 'decoded-pixels'
const SUFFIX = '.pixels'

/** How the bound is kept: eviction goes this far below it, so the next write does not evict again. */
const EVICT_TO = 0.9
/** A hit refreshes the entry's mtime (its last use) at most this often. */
const TOUCH_INTERVAL_MS = 60_000

/** What the pool hands its worker threads (structured-clonable): where the cache is and its bound. */
export interface DecodedCacheConfig {
  dir: string
  /** Bound in bytes; 0 turns the cache off. */
  maxBytes: number
}

export interface DecodedCacheOptions extends DecodedCacheConfig {
  /** Writes an entry's temp file (tests inject a full disk here); default fs.promises.writeFile. */
  writeFile?: (path: string, data: Uint8Array) => Promise<void>
  /** Told once per kind of trouble (a full disk, a refused folder); default: silent. */
  onProblem?: (message: string) => void
}

/** A source file's identity when it was looked at: any change to it gives another key. */
export interface SourceIdentity {
  key: string
  stats: BigIntStats
}

export interface CacheHit {
  image: DecodedImage
  stats: PixelStats
}

export function decodedCacheDir(workspace: string): string {
  return join(workspace, DECODED_CACHE_FOLDER)
}

/** The workspace's cache as its settings say (a bound of 0: off). */
export async function workspaceDecodedCacheConfig(workspace: string): Promise<DecodedCacheConfig> {
  const settings = await readWorkspaceSettings(workspace)
  return { dir: decodedCacheDir(workspace), maxBytes: decodedCacheBytes(settings) }
}

export class DecodedCache {
  readonly dir: string
  readonly maxBytes: number
  private readonly writeEntry: (path: string, data: Uint8Array) => Promise<void>
  private readonly onProblem: (message: string) => void
  private readonly told = new Set<string>()
  private swept: Promise<unknown> | null = null
  private trimming: Promise<void> | null = null
  private trimAgain = false
  private realDir: Promise<string> | null = null

  constructor(options: DecodedCacheOptions) {
    this.dir = resolve(options.dir)
    this.maxBytes = Math.max(0, options.maxBytes)
    this.writeEntry = options.writeFile ?? ((path, data) => writeFile(path, data, { flag: 'wx' }))
    this.onProblem = options.onProblem ?? (() => undefined)
  }

  get enabled(): boolean {
    return this.maxBytes > 0
  }

  /**
   * The key of a source file as it is now: its path, device, inode, size and mtime in nanoseconds,
   * and the decoder's version. Null when the file cannot be looked at (the decoder reports why).
   */
  identify(absPath: string): SourceIdentity | null {
    let stats: BigIntStats
    try {
      stats = statSync(absPath, { bigint: true })
    } catch {
      return null
    }
    const key = createHash('sha256')
      .update(
        [
          resolve(absPath),
          stats.dev,
          stats.ino,
          stats.size,
          stats.mtimeNs,
          DECODER_VERSION,
          APP_VERSION
        ].join('\0')
      )
      .digest('hex')
      .slice(0, 40)
    return { key, stats }
  }

  /** True when the file still is what `identity` saw (checked before an entry is written). */
  unchanged(absPath: string, identity: SourceIdentity): boolean {
    const now = this.identify(absPath)
    return now !== null && now.key === identity.key
  }

  fileOf(key: string): string {
    return join(this.dir, `${key}${SUFFIX}`)
  }

  /**
   * The cached decode of `key`, or null. Read on the calling thread (decode workers wait for nothing
   * in libuv's pool); a damaged or foreign entry is deleted and reported as a miss.
   */
  read(key: string): CacheHit | null {
    if (!this.enabled) return null
    this.sweepOnce()
    const file = this.fileOf(key)
    let bytes: Uint8Array
    let mtimeMs: number
    try {
      ;({ bytes, mtimeMs } = readWholeSync(file))
    } catch {
      return null
    }
    try {
      const hit = decodeEntry(bytes, key)
      if (Date.now() - mtimeMs > TOUCH_INTERVAL_MS) {
        const now = new Date()
        void utimes(file, now, now).catch(() => undefined)
      }
      return hit
    } catch (err) {
      if (!(err instanceof CorruptEntryError)) throw err
      this.tell('corrupt', `${file}: ${err.message}; deleted, the image is decoded again`)
      void unlink(file).catch(() => undefined)
      return null
    }
  }

  /**
   * The entry's bytes, made now: the pixels are copied, so the caller may hand `image` on (transfer
   * it to another thread) before calling write().
   */
  snapshot(key: string, image: DecodedImage, stats: PixelStats): Uint8Array {
    return encodeEntry(key, image, stats)
  }

  /**
   * Writes a snapshot (checksum, temp file, rename), then keeps the folder within the bound. Never
   * throws: a full disk or a refused folder leaves the cache without this entry, nothing more.
   * `sourceRoot`: the dataset folder the image was read from (default: the file's own folder); the
   * cache never writes inside it.
   */
  async write(key: string, snapshot: Uint8Array, sourceFile: string, sourceRoot?: string): Promise<boolean> {
    if (!this.enabled) return false
    if (await this.insideSource(sourceFile, sourceRoot)) return false
    const file = this.fileOf(key)
    const temp = join(this.dir, tempName(`${key}${SUFFIX}`))
    try {
      await mkdir(this.dir, { recursive: true })
      // no fsync: the checksum catches an entry a crash cut short, and the reader decodes again
      await this.writeEntry(temp, sealEntry(snapshot))
      await rename(temp, file)
    } catch (err) {
      await rm(temp, { force: true }).catch(() => undefined)
      const code = (err as NodeJS.ErrnoException).code ?? String(err)
      this.tell(
        `write ${code}`,
        `${this.dir}: cannot write a decoded-pixel cache entry (${code}); images still open, uncached`
      )
      return false
    }
    await this.trim()
    return true
  }

  /** Entries on disk and their bytes, oldest use first. */
  async entries(): Promise<Array<{ file: string; bytes: number; usedMs: number }>> {
    const names = await readdir(this.dir).catch(() => [] as string[])
    const found = await Promise.all(
      names
        .filter((name) => name.endsWith(SUFFIX) && !name.startsWith('.'))
        .map(async (name) => {
          const file = join(this.dir, name)
          const info = await stat(file).catch(() => null)
          return info?.isFile() ? { file, bytes: info.size, usedMs: info.mtimeMs } : null
        })
    )
    return found.filter((entry) => entry !== null).sort((a, b) => a.usedMs - b.usedMs)
  }

  /** Deletes every entry (and stale temps); returns the bytes freed. */
  async clear(): Promise<number> {
    let freed = 0
    for (const entry of await this.entries()) {
      await unlink(entry.file).then(
        () => (freed += entry.bytes),
        () => undefined
      )
    }
    await removeStaleTemps(this.dir)
    return freed
  }

  /**
   * Keeps the folder within the bound, counting every process's entries (it lists the folder rather
   * than trusting what this thread wrote). Calls during a trim are folded into one more pass.
   */
  trim(): Promise<void> {
    if (this.trimming) {
      this.trimAgain = true
      return this.trimming
    }
    this.trimming = (async () => {
      do {
        this.trimAgain = false
        const entries = await this.entries()
        let total = entries.reduce((sum, entry) => sum + entry.bytes, 0)
        if (total <= this.maxBytes) continue
        for (const entry of entries) {
          if (total <= this.maxBytes * EVICT_TO) break
          // another process may have removed or used it meanwhile: either way it is gone or fresh enough
          await unlink(entry.file).catch(() => undefined)
          total -= entry.bytes
        }
      } while (this.trimAgain)
    })().finally(() => (this.trimming = null))
    return this.trimming
  }

  /** Temp files of writers that were killed: removed once per cache object, in the background. */
  private sweepOnce(): void {
    this.swept ??= removeStaleTemps(this.dir).catch(() => [])
  }

  /** True (and said once) when the cache folder lies inside the folder the image was read from. */
  private async insideSource(sourceFile: string, sourceRoot?: string): Promise<boolean> {
    this.realDir ??= realPathOfNearest(this.dir)
    const root = await realPathOfNearest(sourceRoot ?? dirname(sourceFile))
    const rel = relative(root, await this.realDir)
    const inside = rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))
    if (inside)
      this.tell(
        'inside source',
        `${this.dir}: lies inside the dataset folder ${root}, which is never written; decoded images are not cached`
      )
    return inside
  }

  private tell(kind: string, message: string): void {
    if (this.told.has(kind)) return
    this.told.add(kind)
    this.onProblem(message)
  }
}

/** The whole file into a buffer of its own (so typed views of it are aligned), and its mtime. */
function readWholeSync(file: string): { bytes: Uint8Array; mtimeMs: number } {
  const fd = openSync(file, 'r')
  try {
    const info = fstatSync(fd)
    const bytes = new Uint8Array(Buffer.allocUnsafeSlow(info.size).buffer, 0, info.size)
    let filled = 0
    while (filled < info.size) {
      const count = readSync(fd, bytes, filled, info.size - filled, filled)
      if (count === 0) break
      filled += count
    }
    return { bytes: bytes.subarray(0, filled), mtimeMs: info.mtimeMs }
  } finally {
    closeSync(fd)
  }
}
