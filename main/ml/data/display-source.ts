// Where the tensor cache gets display pixels from: the DICOM decoder and the shared pixel pipeline.
import { renderDisplay } from '../../../common/pixels'
import { DecodedCache, datasetRootOf, decodeCached } from '../../core/dicom/decoded-cache'
import { decodeFile } from '../../core/dicom/decode'
import { DecodePool } from '../../core/dicom/pool'
import type { DisplaySource } from './tensor-cache'

/** Decodes on the calling thread (tests, or when the decode worker is not built). */
export const inProcessDisplaySource: DisplaySource = {
  async render(absPath, relPath) {
    const image = await decodeFile(absPath, relPath)
    return { width: image.columns, height: image.rows, pixels: renderDisplay(image) }
  }
}

/** Decodes on the calling thread through the decoded-pixel cache once useDecodedCache() names one. */
export function inProcessCachedDisplaySource(): DisplaySource {
  let cache: DecodedCache | null = null
  return {
    async render(absPath, relPath) {
      const decoded = await decodeCached(absPath, relPath, cache, {
        decode: (abs, rel) => decodeFile(abs, rel),
        datasetRoot: datasetRootOf(absPath, relPath)
      })
      const display = renderDisplay(decoded.image)
      await decoded.save?.()
      return { width: decoded.image.columns, height: decoded.image.rows, pixels: display }
    },
    useDecodedCache(config) {
      cache = config?.maxBytes ? new DecodedCache(config) : null
    }
  }
}

/**
 * Decodes in DecodePool's worker threads, so decoding overlaps with whatever the calling thread does.
 * Falls back to in-process decoding when the worker script is not built. Call close() when done.
 */
export function openDisplaySource(): DisplaySource & { close(): Promise<void> } {
  let pool: DecodePool
  try {
    // training reads each image once: keep the pool's decoded-image cache small
    pool = new DecodePool({ cacheBytes: 64 * 1024 * 1024 })
  } catch {
    return { ...inProcessCachedDisplaySource(), close: async () => undefined }
  }
  return {
    render: (absPath, relPath) => pool.renderDisplay(absPath, {}, relPath),
    useDecodedCache: (config) => pool.useDecodedCache(config),
    close: () => pool.close()
  }
}
