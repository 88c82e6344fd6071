// The on-disk thumbnail cache of a workspace (datasets/<id>/thumbnails/<size>/<key>.gray), bounded
// in bytes across every dataset: when a write takes it over the bound, the least recently used
// thumbnails go. A file's mtime is its last use, so the order survives restarts.
import { createHash } from 'node:crypto'
import { readdir, readFile, stat, unlink, utimes } from 'node:fs/promises'
import { join } from 'node:path'
import { writeFileAtomic } from '../../core/fs-atomic'

export const DEFAULT_THUMBNAIL_CACHE_BYTES = 256 * 1024 * 1024

/** Disk writes to record a use are spared when the last one is this recent. */
const TOUCH_INTERVAL_MS = 60_000
/** Eviction goes below the bound by this share, so it does not run again on the next write. */
const EVICT_TO = 0.9

interface Entry {
  bytes: number
  touchedMs: number
}

export class ThumbnailCache {
  /** Files in least-recently-used-first order (a Map keeps insertion order). */
  private entries = new Map<string, Entry>()
  private totalBytes = 0
  private scan: Promise<void> | null = null

  constructor(
    readonly workspace: string,
    readonly maxBytes = DEFAULT_THUMBNAIL_CACHE_BYTES
  ) {}

  /** Bytes the cache holds on disk, as far as it knows (after the first read or write). */
  get bytes(): number {
    return this.totalBytes
  }

  /**
   * Where one image's thumbnail of one size lives in its dataset's cache folder. The key hashes the
   * file's path (image ids are not trusted as file names) and its mtime, so an edited file gets a
   * new thumbnail and the stale one simply ages out.
   */
  fileFor(datasetCacheDir: string, image: { relPath: string; mtimeMs: number }, size: number): string {
    const key = createHash('sha1').update(`${image.relPath}\0${image.mtimeMs}`).digest('hex').slice(0, 24)
    return join(datasetCacheDir, 'thumbnails', String(size), `${key}.gray`)
  }

  /** The cached bytes, or null; a hit counts as a use. */
  async read(file: string): Promise<Buffer | null> {
    void this.ensureScanned()
    const bytes = await readFile(file).catch(() => null)
    if (!bytes) {
      this.forget(file)
      return null
    }
    const now = Date.now()
    const known = this.entries.get(file)
    const entry = { bytes: bytes.byteLength, touchedMs: known?.touchedMs ?? 0 }
    if (now - entry.touchedMs > TOUCH_INTERVAL_MS) {
      entry.touchedMs = now
      await utimes(file, now / 1000, now / 1000).catch(() => undefined)
    }
    this.remember(file, entry)
    return bytes
  }

  /** Writes atomically, then evicts the least recently used thumbnails if the bound is passed. */
  async write(file: string, bytes: Uint8Array): Promise<void> {
    await writeFileAtomic(file, bytes)
    this.remember(file, { bytes: bytes.byteLength, touchedMs: Date.now() })
    await this.ensureScanned()
    if (this.totalBytes > this.maxBytes) await this.evict(this.maxBytes * EVICT_TO)
  }

  private async evict(targetBytes: number): Promise<void> {
    for (const file of this.entries.keys()) {
      if (this.totalBytes <= targetBytes) break
      this.forget(file)
      await unlink(file).catch(() => undefined)
    }
  }

  private remember(file: string, entry: Entry): void {
    this.forget(file)
    this.entries.set(file, entry)
    this.totalBytes += entry.bytes
  }

  private forget(file: string): void {
    const entry = this.entries.get(file)
    if (!entry) return
    this.entries.delete(file)
    this.totalBytes -= entry.bytes
  }

  /** Learns what earlier sessions left on disk, oldest use first, once per process. */
  private ensureScanned(): Promise<void> {
    this.scan ??= (async () => {
      const found: Array<[string, Entry]> = []
      const datasets = join(this.workspace, 'datasets')
      for (const dataset of await readdir(datasets).catch(() => [] as string[])) {
        const root = join(datasets, dataset, 'thumbnails')
        for (const size of await readdir(root).catch(() => [] as string[])) {
          for (const name of await readdir(join(root, size)).catch(() => [] as string[])) {
            if (!name.endsWith('.gray')) continue
            const file = join(root, size, name)
            const info = await stat(file).catch(() => null)
            if (info?.isFile()) found.push([file, { bytes: info.size, touchedMs: info.mtimeMs }])
          }
        }
      }
      found.sort((a, b) => a[1].touchedMs - b[1].touchedMs)
      // files used in this session while the scan ran are the most recent: they stay at the end
      const seen = this.entries
      this.entries = new Map()
      this.totalBytes = 0
      for (const [file, entry] of found) if (!seen.has(file)) this.remember(file, entry)
      for (const [file, entry] of seen) this.remember(file, entry)
    })()
    return this.scan
  }
}
