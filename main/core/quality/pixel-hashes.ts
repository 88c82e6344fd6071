// Finds pixel-identical images: decode and hash only images that share rows x columns with another.
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Dataset, DatasetImage } from '../../../common/dataset'
import type { ProgressListener } from '../../../common/domain'
import { errorMessage, FileReadError } from '../errors'
import { writeJsonAtomic } from '../fs-atomic'
import { datasetCacheDir } from '../workspace'

/** What the quality check needs from a decoder; main/core/dicom's DecodePool fits it. */
export interface PixelDecoder {
  /** `relPath` names the file in error messages. */
  decode(absPath: string, relPath?: string): Promise<{ pixels: ArrayBufferView; rows: number; columns: number }>
}

export interface PixelHashOptions {
  workspace?: string
  /** Decodes in flight at once (the decoder may queue them further). */
  concurrency?: number
  onProgress?: ProgressListener
  signal?: AbortSignal
}

export interface PixelHashResult {
  /** Groups (2 or more) of images with identical stored pixels, in dataset order. */
  groups: DatasetImage[][]
  /** Images sharing rows x columns with another: the only ones that can have a pixel twin. */
  candidates: number
  /** Images hashed in this run (decoded) and taken from the workspace cache. */
  decoded: number
  cached: number
  failures: Array<{ image: DatasetImage; reason: string }>
}

interface HashCacheEntry {
  size: number
  mtimeMs: number
  hash: string
}
const CACHE_FILE = 'pixel-hashes.json'
const CACHE_VERSION = 1

/**
 * Hashes (sha1) the stored pixel values of every image whose rows x columns occurs more than once
 * (an image of a unique size cannot have a pixel twin), reusing hashes cached in the workspace by
 * path + size + mtime. Files decoding to the same values are identical whatever their transfer syntax.
 */
export async function findPixelDuplicates(
  dataset: Dataset,
  decoder: PixelDecoder,
  options: PixelHashOptions = {}
): Promise<PixelHashResult> {
  const bySize = new Map<string, DatasetImage[]>()
  for (const image of dataset.images) {
    if (!image.record) continue
    pushTo(bySize, `${image.record.rows}x${image.record.columns}`, image)
  }
  const candidates = [...bySize.values()].filter((group) => group.length > 1).flat()

  const cachePath = options.workspace
    ? join(datasetCacheDir(options.workspace, dataset.root), CACHE_FILE)
    : null
  const cache = cachePath ? await loadCache(cachePath) : new Map<string, HashCacheEntry>()
  const hashes = new Map<DatasetImage, string>()
  const failures: PixelHashResult['failures'] = []
  let decoded = 0
  let cached = 0
  let done = 0
  const total = candidates.length
  options.onProgress?.({ stage: 'pixel hashes', done, total })

  const queue = [...candidates]
  const worker = async () => {
    for (let image = queue.shift(); image; image = queue.shift()) {
      options.signal?.throwIfAborted()
      const record = image.record!
      const hit = cache.get(record.path)
      if (hit && hit.size === record.size && hit.mtimeMs === record.mtimeMs) {
        hashes.set(image, hit.hash)
        cached++
      } else {
        try {
          const pixels = await decoder.decode(join(dataset.root, record.path), record.path)
          const hash = hashPixels(pixels)
          hashes.set(image, hash)
          cache.set(record.path, { size: record.size, mtimeMs: record.mtimeMs, hash })
          decoded++
        } catch (err) {
          failures.push({ image, reason: err instanceof FileReadError ? err.reason : errorMessage(err) })
        }
      }
      options.onProgress?.({ stage: 'pixel hashes', done: ++done, total })
    }
  }
  try {
    await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 4) }, worker))
  } finally {
    // Keep what was hashed even when the run is cancelled: the next run starts from there.
    if (cachePath && decoded > 0) await saveCache(cachePath, cache)
  }

  const byHash = new Map<string, DatasetImage[]>()
  for (const image of candidates) {
    const hash = hashes.get(image)
    if (hash) pushTo(byHash, hash, image)
  }
  const order = new Map(dataset.images.map((image, i) => [image, i]))
  const groups = [...byHash.values()]
    .filter((group) => group.length > 1)
    .map((group) => group.sort((a, b) => order.get(a)! - order.get(b)!))
    .sort((a, b) => order.get(a[0])! - order.get(b[0])!)
  return { groups, candidates: total, decoded, cached, failures }
}

function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key)
  if (list) list.push(value)
  else map.set(key, [value])
}

function hashPixels(image: { pixels: ArrayBufferView; rows: number; columns: number }): string {
  const bytes = new Uint8Array(image.pixels.buffer, image.pixels.byteOffset, image.pixels.byteLength)
  return createHash('sha1').update(`${image.rows}x${image.columns}:`).update(bytes).digest('hex')
}

async function loadCache(path: string): Promise<Map<string, HashCacheEntry>> {
  try {
    const stored = JSON.parse(await readFile(path, 'utf8')) as {
      version?: number
      entries?: Record<string, HashCacheEntry>
    }
    if (stored.version !== CACHE_VERSION || !stored.entries) return new Map()
    return new Map(Object.entries(stored.entries))
  } catch {
    return new Map() // no cache yet, or an unreadable one: hash again
  }
}

async function saveCache(path: string, cache: Map<string, HashCacheEntry>): Promise<void> {
  await writeJsonAtomic(path, { version: CACHE_VERSION, entries: Object.fromEntries(cache) })
}
