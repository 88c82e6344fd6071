// The viewer's first pixels: a reduced image of at most PREVIEW_MAX_SIDE a side, shown while the
// full image decodes or travels, then replaced by it. JPEG 2000 stops at a coarser wavelet level
// (a fraction of the decode); other syntaxes decode whole and are averaged down before transfer, so
// the page draws a 0.5 MB preview instead of waiting for 8-30 MB of pixels.
import type { DecodedImage, StoredPixels } from '../../../common/pixels'
import { decodeFileReduced, reductionLevel } from './decode'
import { pixelStats, type PixelStats } from './pixel-stats'

/**
 * Longer side of a preview. A JPEG 2000 level costs about 1/4^level of the full decode: 768 keeps
 * 2k-4k images at level 2-3 (1/16-1/64); it still fills most of a laptop-sized viewport.
 */
export const PREVIEW_MAX_SIDE = 768

/** Images with fewer pixels than this arrive whole about as fast as a preview would: none is made. */
export const PREVIEW_MIN_PIXELS = 1536 * 1536

export interface ImagePreview {
  /** The reduced image: `rows` × `columns` are the preview's. */
  image: DecodedImage
  stats: PixelStats
  /** The full image's size. */
  fileRows: number
  fileColumns: number
  /** Full-image pixels per preview pixel (2^level, or the averaging factor). */
  factor: number
  /**
   * Where the preview's pixel grid starts in full-image pixels: preview pixel i stands for full pixels
   * [i·factor + origin, (i+1)·factor + origin). 0 for block means; -2^(level-1) for a JPEG 2000 level,
   * whose low-pass sample i is centred on full pixel i·2^level (drawn at 0 it would sit half a
   * preview pixel off, and the full image would then seem to move when it replaces it).
   */
  origin: number
  /** 'resolution-level': a JPEG 2000 low-pass band; 'downsampled': block means of the full decode. */
  method: 'resolution-level' | 'downsampled'
  /** Stats are the full image's own (downsampled), so its auto window is the one the full image gets. */
  fullStats: boolean
}

export interface PreviewDecode {
  /** null: the image is small enough to send whole. */
  preview: ImagePreview | null
  /** The full decode, when one was needed for the preview (or instead of it): keep it for the full request. */
  full?: { image: DecodedImage; stats: PixelStats }
}

/** Decodes `absPath` for a preview (in a decode worker: the read is synchronous). */
export async function decodePreview(
  absPath: string,
  relPath: string,
  maxSide = PREVIEW_MAX_SIDE
): Promise<PreviewDecode> {
  const { image, fileRows, fileColumns } = await decodeFileReduced(absPath, relPath, maxSide, {
    syncRead: true
  })
  if (image.rows < fileRows || image.columns < fileColumns) {
    const factor = 2 ** reductionLevel(fileRows, fileColumns, Math.max(image.rows, image.columns))
    return {
      preview: {
        image,
        stats: pixelStats(image),
        fileRows,
        fileColumns,
        factor,
        origin: -factor / 2,
        method: 'resolution-level',
        fullStats: false
      }
    }
  }
  const stats = pixelStats(image)
  if (image.rows * image.columns < PREVIEW_MIN_PIXELS) return { preview: null, full: { image, stats } }
  const factor = Math.ceil(Math.max(image.rows, image.columns) / maxSide)
  return {
    preview: {
      image: downsampleImage(image, factor),
      stats,
      fileRows,
      fileColumns,
      factor,
      origin: 0,
      method: 'downsampled',
      fullStats: true
    },
    full: { image, stats }
  }
}

/** The image with each `factor` × `factor` block replaced by its mean (ceil-sized, edge blocks partial). */
export function downsampleImage(image: DecodedImage, factor: number): DecodedImage {
  const columns = Math.ceil(image.columns / factor)
  const rows = Math.ceil(image.rows / factor)
  return { ...image, rows, columns, pixels: blockMeans(image.pixels, image.columns, image.rows, factor) }
}

/** Block means rounded to the nearest stored value, in an array of the input's type. */
export function blockMeans(
  pixels: StoredPixels,
  width: number,
  height: number,
  factor: number
): StoredPixels {
  const outWidth = Math.ceil(width / factor)
  const outHeight = Math.ceil(height / factor)
  const out = new (pixels.constructor as new (length: number) => StoredPixels)(outWidth * outHeight)
  const sums = new Float64Array(outWidth)
  for (let outY = 0; outY < outHeight; outY++) {
    sums.fill(0)
    const y0 = outY * factor
    const y1 = Math.min(height, y0 + factor)
    for (let y = y0; y < y1; y++) {
      const row = y * width
      for (let x = 0, outX = 0; x < width; outX++) {
        const end = Math.min(width, x + factor)
        let sum = 0
        for (; x < end; x++) sum += pixels[row + x]
        sums[outX] += sum
      }
    }
    const blockHeight = y1 - y0
    for (let outX = 0; outX < outWidth; outX++) {
      const blockWidth = Math.min(width, (outX + 1) * factor) - outX * factor
      out[outY * outWidth + outX] = Math.round(sums[outX] / (blockWidth * blockHeight))
    }
  }
  return out
}
