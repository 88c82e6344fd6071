// Decoding through the workspace's decoded-pixel cache: a file seen before (same path, inode, size,
// mtime and decoder) is read back instead of decoded; a fresh decode is handed to the caller first
// and written afterwards, so the first open is not slowed by the cache.
import { dirname, isAbsolute, normalize, resolve, sep } from 'node:path'
import type { DecodedImage } from '../../../../common/pixels'
import { decodeFile } from '../decode'
import { pixelStats, type PixelStats } from '../pixel-stats'
import { copyPixels } from './entry'
import { DecodedCache, workspaceDecodedCacheConfig, type CacheHit, type SourceIdentity } from './store'

export {
  DecodedCache,
  DECODER_VERSION,
  decodedCacheDir,
  workspaceDecodedCacheConfig,
  type DecodedCacheConfig
} from './store'
export { CorruptEntryError } from './entry'

export interface CachedDecode {
  image: DecodedImage
  /** From the cache, or computed when `stats` was asked for. */
  stats?: PixelStats
  fromCache: boolean
  /**
   * Writes the entry of a fresh decode; call it after handing the image on. Resolves true when written,
   * false when not (cache off, a full disk, the file changed meanwhile); never rejects. Null on a hit.
   */
  save: (() => Promise<boolean>) | null
}

export interface DecodeCachedOptions {
  /** The decoder on a miss; default decodeFile read on the calling thread. */
  decode?: (absPath: string, relPath: string) => Promise<DecodedImage>
  /** Compute the viewer's stats on a miss before returning (a hit always has them). */
  stats?: boolean
  /** Write a fresh decode (default true); background work reads the cache but leaves it as it is. */
  write?: boolean
  /**
   * The caller hands the pixels on (transfers them to another thread) before save(): they are copied
   * for the write. Otherwise the caller must leave them unchanged until save() resolves.
   */
  transfer?: boolean
  /** The dataset folder the file belongs to: the cache never writes inside it. Default: the file's folder. */
  datasetRoot?: string
}

/** Frame 0 of `absPath`, from the cache when it holds this very file, else decoded (see CachedDecode). */
export async function decodeCached(
  absPath: string,
  relPath: string,
  cache: DecodedCache | null,
  options: DecodeCachedOptions = {}
): Promise<CachedDecode> {
  const { hit, identity } = readCached(absPath, cache)
  if (hit) return { ...hit, fromCache: true, save: null }
  const decode = options.decode ?? ((abs, rel) => decodeFile(abs, rel, { syncRead: true }))
  const image = await decode(absPath, relPath)
  const stats = options.stats ? pixelStats(image) : undefined
  if (!cache || !identity || options.write === false) return { image, stats, fromCache: false, save: null }
  return {
    image,
    stats,
    fromCache: false,
    save: saveDecoded(cache, identity, absPath, image, stats, options)
  }
}

/**
 * The cache's entry for the file as it is now (null: none, or no cache), and the file's identity
 * for a saveDecoded() after decoding it some other way (the viewer's preview decodes whole images).
 */
export function readCached(
  absPath: string,
  cache: DecodedCache | null
): { hit: CacheHit | null; identity: SourceIdentity | null } {
  const identity = cache?.enabled ? cache.identify(absPath) : null
  return { hit: identity ? cache!.read(identity.key) : null, identity }
}

/**
 * The save() of a fresh decode of the file `identity` saw (see CachedDecode.save); with `transfer`
 * the pixels are copied now, so the caller may hand the image on before calling it.
 */
export function saveDecoded(
  cache: DecodedCache,
  identity: SourceIdentity,
  absPath: string,
  image: DecodedImage,
  stats: PixelStats | undefined,
  options: Pick<DecodeCachedOptions, 'transfer' | 'datasetRoot'> = {}
): () => Promise<boolean> {
  // the pixels copied once: straight into the entry when the stats are known, else aside until save()
  const ready = options.transfer && stats ? cache.snapshot(identity.key, image, stats) : null
  const kept = options.transfer && !ready ? { ...image, pixels: copyPixels(image.pixels) } : image
  return async () => {
    try {
      // a file rewritten while it was decoded would be cached under its old identity: skip it
      if (!cache.unchanged(absPath, identity)) return false
      const snapshot = ready ?? cache.snapshot(identity.key, kept, stats ?? pixelStats(kept))
      return await cache.write(identity.key, snapshot, absPath, options.datasetRoot)
    } catch {
      return false
    }
  }
}

/**
 * The dataset folder of a file the way the app names it: the folder `relPath` is relative to when
 * `absPath` ends with it (a dataset's root), else the file's own folder.
 */
export function datasetRootOf(absPath: string, relPath: string): string {
  const abs = resolve(absPath)
  if (!isAbsolute(relPath)) {
    const rel = normalize(relPath)
    if (rel !== '.' && !rel.startsWith('..') && abs.endsWith(sep + rel))
      return abs.slice(0, abs.length - rel.length - 1) || sep
  }
  return dirname(abs)
}

/** A DecodedCache for the workspace (its settings' bound), or null when the setting turns it off. */
export async function openDecodedCache(
  workspace: string,
  onProblem?: (message: string) => void
): Promise<DecodedCache | null> {
  const config = await workspaceDecodedCacheConfig(workspace)
  return config.maxBytes > 0 ? new DecodedCache({ ...config, onProblem }) : null
}
