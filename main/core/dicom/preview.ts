// The viewer's first pixels: a reduced image of at most PREVIEW_MAX_SIDE a side, shown while the
// full image decodes or travels, then replaced by it. JPEG 2000 stops at a coarser wavelet level
// (a fraction of the decode); other syntaxes decode whole and are sampled down before transfer, so
// the page draws a 0.5 MB preview instead of waiting for 8-30 MB of pixels.
import type { DecodedImage, StoredPixels } from '../../../common/pixels'
import { decodeFileReduced, reductionLevel } from './decode'
import { pixelStats, type PixelStats } from './pixel-stats'

/**
 * Longer side of a preview. A JPEG 2000 level costs about 1/4^level of the full decode: 768 keeps
 * 2k-4k images at level 2-3 (1/16-1/64); it still fills most of a laptop-sized viewport.
 */
export const PREVIEW_MAX_SIDE = 768

/**
 * A sampled preview (syntaxes other than JPEG 2000) is made only for images of at least this many
 * times a full-size preview's pixels (12 M at 768: 4240 x 3480 yes, 2336 x 2836 no). Its pixels come
 * from the full decode, so it saves only the full image's transfer and drawing; bench:viewer's preview
 * bench measured no gain in first pixels at 2048² and 2336 x 2836 (and 100-300 ms more to full
 * resolution), 100-375 ms sooner first pixels at 4240 x 3480 (load 9-14 on 2 cores).
 */
export const SAMPLED_PREVIEW_MIN_RATIO = 20

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
   * [i·factor + origin, (i+1)·factor + origin). 0 for sampled blocks; -2^(level-1) for a JPEG 2000 level,
   * whose low-pass sample i is centred on full pixel i·2^level (drawn at 0 it would sit half a
   * preview pixel off, and the full image would then seem to move when it replaces it).
   */
  origin: number
  /** 'resolution-level': a JPEG 2000 low-pass band; 'downsampled': sampled from the full decode (downsampleImage). */
  method: 'resolution-level' | 'downsampled'
  /** Stats are the full image's own (downsampled), so its auto window is the one the full image gets. */
  fullStats: boolean
}

export interface PreviewDecode {
  /** null: the full image is as quick (not JPEG 2000, and under SAMPLED_PREVIEW_MIN_RATIO previews). */
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
  if (image.rows * image.columns < SAMPLED_PREVIEW_MIN_RATIO * maxSide ** 2)
    return { preview: null, full: { image, stats } }
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

/**
 * The image reduced by `factor` (ceil-sized): each output pixel is the mean of the 2 x 2 pixels at the
 * centre of its factor x factor block (the whole block when factor is 2). Reading four pixels per
 * output pixel costs a few ms where a mean over every pixel cost 100-250 ms for a 4240 x 3480 image
 * on this (loaded) machine, as much as the transfer the preview saves; the 2 x 2 mean still halves
 * the detector noise of a plain subsample.
 */
export function downsampleImage(image: DecodedImage, factor: number): DecodedImage {
  const columns = Math.ceil(image.columns / factor)
  const rows = Math.ceil(image.rows / factor)
  return { ...image, rows, columns, pixels: blockCentres(image.pixels, image.columns, image.rows, factor) }
}

/** Means of the 2 x 2 pixels at the centre of each factor x factor block, rounded, in the input's array type. */
export function blockCentres(
  pixels: StoredPixels,
  width: number,
  height: number,
  factor: number
): StoredPixels {
  const outWidth = Math.ceil(width / factor)
  const outHeight = Math.ceil(height / factor)
  const out = new (pixels.constructor as new (length: number) => StoredPixels)(outWidth * outHeight)
  // the pair of rows/columns straddling the block's centre, clamped into a partial last block
  const first = Math.max(0, (factor >> 1) - 1)
  const x0 = Int32Array.from({ length: outWidth }, (_, i) => Math.min(width - 1, i * factor + first))
  const x1 = Int32Array.from({ length: outWidth }, (_, i) => Math.min(width - 1, i * factor + first + 1))
  for (let outY = 0; outY < outHeight; outY++) {
    const row0 = Math.min(height - 1, outY * factor + first) * width
    const row1 = Math.min(height - 1, outY * factor + first + 1) * width
    const at = outY * outWidth
    for (let outX = 0; outX < outWidth; outX++) {
      const sum =
        pixels[row0 + x0[outX]] + pixels[row0 + x1[outX]] + pixels[row1 + x0[outX]] + pixels[row1 + x1[outX]]
      out[at + outX] = Math.round(sum / 4)
    }
  }
  return out
}
