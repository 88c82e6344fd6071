// Decode worker thread: decodes DICOM frames and renders display/thumbnail images off the main
// thread. Typed arrays go back transferred, not copied. With the workspace's on-disk decoded-pixel
// cache, a file seen before is read back instead of decoded, and a fresh decode is written to it
// after the answer has gone back.
import { parentPort } from 'node:worker_threads'
import { displayLut, renderDisplay, resizeGray, resizeThroughLut } from '../../common/pixels'
import type { DecodedImage } from '../../common/pixels'
import { FileReadError, errorMessage } from '../core/errors'
import { preloadCodecs } from '../core/dicom/codecs/wasm'
import {
  DecodedCache,
  datasetRootOf,
  decodeCached,
  readCached,
  saveDecoded
} from '../core/dicom/decoded-cache'
import type { DecodedCacheConfig } from '../core/dicom/decoded-cache'
import { pixelStats } from '../core/dicom/pixel-stats'
import { decodePreview } from '../core/dicom/preview'
import type { DecodeCacheUse, DecodeRequest, DecodeResponse } from '../core/dicom/pool-protocol'

if (!parentPort) throw new Error('decode-worker must run as a worker thread')
const port = parentPort

function thumbnailSize(width: number, height: number, size: number): [number, number] {
  const scale = Math.min(1, size / Math.max(width, height))
  return [Math.max(1, Math.round(width * scale)), Math.max(1, Math.round(height * scale))]
}

/** One cache object per cache folder and bound, kept for the worker's life. */
const caches = new Map<string, DecodedCache>()
function cacheOf(config: DecodedCacheConfig): DecodedCache {
  const id = `${config.maxBytes}\0${config.dir}`
  let cache = caches.get(id)
  if (!cache) caches.set(id, (cache = new DecodedCache(config)))
  return cache
}

/** Frame 0 through the on-disk cache when the request names one; `transfer`: its pixels leave this thread. */
function decode(
  request: { absPath: string; relPath: string; cache?: DecodeCacheUse },
  options: { stats?: boolean; transfer?: boolean }
) {
  const { absPath, relPath, cache } = request
  return decodeCached(absPath, relPath, cache ? cacheOf(cache.config) : null, {
    ...options,
    write: cache?.save ?? false,
    datasetRoot: datasetRootOf(absPath, relPath)
  })
}

/** The answer, what to transfer with it, and work to do once it has gone (writing the cache). */
type Handled = [DecodeResponse, ArrayBuffer[], (() => Promise<unknown>)?]

/**
 * The viewer's first pixels; an image in the on-disk cache answers whole instead (reading it is
 * quicker than any preview), and a full decode made for the preview is written to it afterwards.
 */
async function previewOf(request: Extract<DecodeRequest, { op: 'preview' }>): Promise<Handled> {
  const { absPath, relPath, cache: use } = request
  const cache = use ? cacheOf(use.config) : null
  const { hit, identity } = readCached(absPath, cache)
  if (hit)
    return [{ id: request.id, ok: true, preview: null, ...hit }, [hit.image.pixels.buffer as ArrayBuffer]]
  const { preview, full } = await decodePreview(absPath, relPath, request.maxSide)
  const transfer = [preview, full].flatMap((part) => (part ? [part.image.pixels.buffer as ArrayBuffer] : []))
  const save =
    full && cache && identity && use?.save
      ? saveDecoded(cache, identity, absPath, full.image, full.stats, {
          transfer: true,
          datasetRoot: datasetRootOf(absPath, relPath)
        })
      : undefined
  return [{ id: request.id, ok: true, preview, ...(full ?? {}) }, transfer, save]
}

async function handle(request: DecodeRequest): Promise<Handled> {
  if (request.op === 'warm') {
    return [{ id: request.id, ok: true, codecs: await preloadCodecs(request.transferSyntaxUids) }, []]
  }
  if (request.op === 'preview') return previewOf(request)
  if (request.op === 'decode') {
    const decoded = await decode(request, { stats: request.stats, transfer: true })
    const { image } = decoded
    const stats = request.stats ? (decoded.stats ?? pixelStats(image)) : undefined
    return [
      { id: request.id, ok: true, image, stats },
      [image.pixels.buffer as ArrayBuffer],
      decoded.save ?? undefined
    ]
  }
  let image: DecodedImage | undefined = request.image
  const decodedHere = !image
  const returnImage = decodedHere && request.returnImage
  let save: (() => Promise<unknown>) | undefined
  if (!image) {
    const decoded = await decode(request, { transfer: returnImage })
    image = decoded.image
    save = decoded.save ?? undefined
  }
  let pixels: Uint8Array
  let width = image.columns
  let height = image.rows
  if (!request.thumbnail) pixels = renderDisplay(image, request.display)
  else {
    ;[width, height] = thumbnailSize(width, height, request.thumbnail)
    // up to 16-bit stored values: shrink straight through the display table (32-bit spans are too wide for one)
    if (image.pixels instanceof Int32Array)
      pixels = resizeGray(renderDisplay(image, request.display), image.columns, image.rows, width, height)
    else {
      const { min, lut } = displayLut(image, request.display)
      pixels = resizeThroughLut(image.pixels, lut, min, image.columns, image.rows, width, height)
    }
  }
  const transfer = [pixels.buffer as ArrayBuffer]
  // a fresh decode goes back too when asked, so the pool can cache it for the next window/level change
  if (returnImage) transfer.push(image.pixels.buffer as ArrayBuffer)
  return [
    { id: request.id, ok: true, gray: { width, height, pixels }, ...(returnImage ? { image } : {}) },
    transfer,
    save
  ]
}

port.on('message', async (request: DecodeRequest) => {
  try {
    const [response, transfer, after] = await handle(request)
    port.postMessage(response, transfer)
    // the cache write never delays the answer, and never fails the request (it resolves false)
    await after?.().catch(() => undefined)
  } catch (err) {
    const response: DecodeResponse =
      err instanceof FileReadError
        ? { id: request.id, ok: false, message: err.message, path: err.path, reason: err.reason }
        : { id: request.id, ok: false, message: errorMessage(err) }
    port.postMessage(response)
  }
})
