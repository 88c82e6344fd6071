// cornerstone's image loader for `cxr:` ids, fed by the back end's decoder: stored values arrive as
// raw bytes and are viewed in place; cornerstone applies modality LUT, VOI and inversion itself.
import cornerstone, { type Image } from 'cornerstone-core'
import type { DecodedImageMeta, PixelFormat } from '../../../common/contract'
import { api } from '../api'
import type { PreviewGrid } from './preview-geometry'

const SCHEME = 'cxr'
/**
 * Decoded images kept for going back and for prefetched neighbours (a 2k×2k 16-bit image is 8 MB, so
 * 24 of them): with the back end's own 256 MB decode cache, the app stays under 1.5 GB over a
 * 1,000-image walk (npm run bench:load).
 */
const CACHE_BYTES = 192 * 1024 * 1024

export interface CxrImage extends Image {
  cxr: DecodedImageMeta
}

/** A reduced image standing in for the full one: `cxr` describes the full image (its size included). */
export interface CxrPreview extends CxrImage {
  /** Where its pixels lie in the full image. */
  grid: PreviewGrid
  /** The preview's range and auto window are the full image's own (else close to them). */
  fullStats: boolean
}

export function viewerImageId(datasetId: string, imageId: string): string {
  return `${SCHEME}:${datasetId}:${encodeURIComponent(imageId)}`
}

let registered = false
export function registerImageLoader(): void {
  if (registered) return
  registered = true
  cornerstone.imageCache.setMaximumSizeBytes(CACHE_BYTES)
  cornerstone.registerImageLoader(SCHEME, (id, options) => ({
    promise: loadImage(id, (options as { prefetch?: boolean } | undefined)?.prefetch === true)
  }))
}

async function loadImage(id: string, prefetch: boolean): Promise<Image> {
  const [, datasetId, encoded] = id.split(':')
  const imageId = decodeURIComponent(encoded)
  const { meta, data } = await api.imagePixels(
    prefetch ? { datasetId, imageId, prefetch } : { datasetId, imageId }
  )
  return cornerstoneImage(id, meta, data)
}

/**
 * The reduced image the back end makes while the full one decodes, or null when the full image is as
 * quick. Not kept in cornerstone's cache: the full image replaces it.
 */
export async function loadPreview(datasetId: string, imageId: string): Promise<CxrPreview | null> {
  const { meta, data } = await api.imagePreview({ datasetId, imageId })
  const { preview } = meta
  if (!preview) return null
  const full = { rows: preview.fullRows, columns: preview.fullColumns }
  const image = cornerstoneImage(`${viewerImageId(datasetId, imageId)}#preview`, preview, data)
  return {
    ...image,
    cxr: { ...preview, ...full },
    grid: { factor: preview.factor, origin: preview.origin, preview, full },
    fullStats: preview.fullStats
  }
}

function cornerstoneImage(id: string, meta: DecodedImageMeta, data: Uint8Array): CxrImage {
  const pixels = typedView(meta.pixelFormat, data)
  const window = meta.fileWindows[0] ?? meta.autoWindow
  const image: CxrImage = {
    imageId: id,
    minPixelValue: meta.minPixelValue,
    maxPixelValue: meta.maxPixelValue,
    slope: meta.rescaleSlope,
    intercept: meta.rescaleIntercept,
    windowCenter: window.center,
    windowWidth: window.width,
    getPixelData: () => pixels,
    rows: meta.rows,
    columns: meta.columns,
    height: meta.rows,
    width: meta.columns,
    color: false,
    columnPixelSpacing: 1,
    rowPixelSpacing: 1,
    // MONOCHROME1: cornerstone inverts after VOI, as the DICOM pipeline requires.
    invert: meta.photometric === 'MONOCHROME1',
    sizeInBytes: data.byteLength,
    cxr: meta
  }
  return image
}

/** Neighbours in flight at once: enough to keep a worker busy, few enough to drop when the user moves on. */
const PREFETCH_IN_FLIGHT = 2
let prefetchWaiting: string[] = []
let prefetchInFlight = 0

/**
 * Loads images into the cache ahead of need, a couple at a time and marked as prefetches, so the
 * image the user selects next goes ahead of them; a new call replaces the ones still waiting.
 * Failures surface when the image is actually shown.
 */
export function prefetch(ids: string[]): void {
  prefetchWaiting = [...ids]
  pumpPrefetch()
}

/** The viewer loads an image itself: neighbours of the previous one are no longer wanted. */
export function cancelPrefetch(): void {
  prefetchWaiting = []
}

function pumpPrefetch(): void {
  while (prefetchInFlight < PREFETCH_IN_FLIGHT && prefetchWaiting.length) {
    const id = prefetchWaiting.shift()!
    if (cornerstone.imageCache.getImageLoadObject(id)) continue
    prefetchInFlight++
    cornerstone
      .loadAndCacheImage(id, { prefetch: true })
      .catch(() => undefined)
      .finally(() => {
        prefetchInFlight--
        pumpPrefetch()
      })
  }
}

const VIEWS: Record<
  PixelFormat,
  new (buffer: ArrayBufferLike, offset: number, length: number) => ArrayLike<number>
> = {
  uint8: Uint8Array,
  int8: Int8Array,
  uint16: Uint16Array,
  int16: Int16Array,
  uint32: Uint32Array,
  int32: Int32Array,
  float32: Float32Array
}

function typedView(format: PixelFormat, data: Uint8Array): ArrayLike<number> {
  const View = VIEWS[format] as unknown as {
    new (buffer: ArrayBufferLike, offset: number, length: number): ArrayLike<number>
    BYTES_PER_ELEMENT: number
  }
  const size = View.BYTES_PER_ELEMENT
  // A view needs an aligned offset; the binary frame aligns it, an IPC clone starts at 0.
  const bytes = data.byteOffset % size === 0 ? data : data.slice()
  return new View(bytes.buffer, bytes.byteOffset, bytes.byteLength / size)
}
