// Thumbnails are asked for only while their row is on screen: a small queue (a few in flight)
// whose waiting entries are dropped when the row scrolls away, and an LRU of decoded results.
import type { ThumbnailMeta } from '../../../common/contract'
import { api } from '../api'

export interface Thumb {
  meta: ThumbnailMeta
  image: ImageData
}

const MAX_IN_FLIGHT = 3
const MAX_CACHED = 800
const cache = new Map<string, Thumb>()
const waiting: Array<{ key: string; run: () => void; cancelled: boolean }> = []
let inFlight = 0

export function requestThumbnail(
  datasetId: string,
  imageId: string,
  size: number
): { promise: Promise<Thumb>; cancel(): void } {
  const key = `${datasetId}/${size}/${imageId}`
  const hit = cache.get(key)
  if (hit) {
    cache.delete(key)
    cache.set(key, hit)
    return { promise: Promise.resolve(hit), cancel: () => undefined }
  }
  let entry: (typeof waiting)[number] | null = null
  const promise = new Promise<Thumb>((resolve, reject) => {
    entry = {
      key,
      cancelled: false,
      run: () => {
        inFlight++
        api
          .thumbnail({ datasetId, imageId, size })
          .then(({ meta, data }) => {
            const thumb = { meta, image: toImageData(meta, data) }
            cache.set(key, thumb)
            if (cache.size > MAX_CACHED) cache.delete(cache.keys().next().value!)
            resolve(thumb)
          }, reject)
          .finally(() => {
            inFlight--
            pump()
          })
      }
    }
    waiting.push(entry)
    pump()
  })
  return {
    promise,
    cancel: () => {
      if (entry) entry.cancelled = true
    }
  }
}

function pump(): void {
  while (inFlight < MAX_IN_FLIGHT && waiting.length) {
    // Newest first: the rows the user just scrolled to matter more than ones requested earlier.
    const next = waiting.pop()!
    if (!next.cancelled) next.run()
  }
}

function toImageData(meta: ThumbnailMeta, grey: Uint8Array): ImageData {
  const rgba = new Uint8ClampedArray(meta.width * meta.height * 4)
  for (let i = 0, j = 0; i < grey.length; i++, j += 4) {
    rgba[j] = rgba[j + 1] = rgba[j + 2] = grey[i]
    rgba[j + 3] = 255
  }
  return new ImageData(rgba, meta.width, meta.height)
}
