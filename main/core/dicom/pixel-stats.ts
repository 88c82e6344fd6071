// What the viewer needs to know about an image's values before it can draw it: the stored range
// (cornerstone's LUT bounds) and the robust auto window. Computed where the image is decoded.
import { robustWindow, storedRange, windowFromRange } from '../../../common/pixels'
import type { DecodedImage, VoiWindow } from '../../../common/pixels'

export interface PixelStats {
  min: number
  max: number
  /** The 0.5–99.5 percentile window of the modality values (robustWindow). */
  autoWindow: VoiWindow
}

/**
 * Min, max and the robust 0.5–99.5 percentile window in one histogram pass for 8/16-bit data (the
 * viewer's cold path); the same numbers as robustWindow, which takes two passes and a division per pixel.
 */
export function pixelStats(image: DecodedImage): PixelStats {
  const { pixels } = image
  const offset = pixels instanceof Int16Array ? 32768 : pixels instanceof Int8Array ? 128 : 0
  const bins =
    pixels instanceof Uint8Array || pixels instanceof Int8Array
      ? 256
      : pixels instanceof Int32Array
        ? 0
        : 65536
  if (!bins || pixels.length === 0) {
    const { min, max } = storedRange(pixels)
    return { min, max, autoWindow: robustWindow(image) }
  }
  const hist = new Uint32Array(bins)
  for (let i = 0; i < pixels.length; i++) hist[pixels[i] + offset]++
  let low = 0
  while (hist[low] === 0) low++
  let high = bins - 1
  while (hist[high] === 0) high--
  const percentile = (pct: number) => {
    const target = Math.max(1, Math.ceil((pct / 100) * pixels.length))
    let seen = 0
    for (let b = low; b <= high; b++) {
      seen += hist[b]
      if (seen >= target) return b - offset
    }
    return high - offset
  }
  const { rescaleSlope: slope, rescaleIntercept: intercept } = image
  // percentiles of stored values; a negative slope only swaps which end is low in modality units
  const a = percentile(0.5) * slope + intercept
  const b = percentile(99.5) * slope + intercept
  return {
    min: low - offset,
    max: high - offset,
    autoWindow: windowFromRange(Math.min(a, b), Math.max(a, b))
  }
}
