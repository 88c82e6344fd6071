import type { DecodedImage } from './types'

/** True when the modality LUT maps integers to integers, so modality values fit an Int32Array. */
export function hasIntegralRescale(img: Pick<DecodedImage, 'rescaleSlope' | 'rescaleIntercept'>): boolean {
  return Number.isInteger(img.rescaleSlope) && Number.isInteger(img.rescaleIntercept)
}

/** Modality LUT (PS3.3 C.11.1): stored * RescaleSlope + RescaleIntercept. */
export function modalityValues(img: DecodedImage): Int32Array | Float32Array {
  const { pixels, rescaleSlope: slope, rescaleIntercept: intercept } = img
  const out = hasIntegralRescale(img) ? new Int32Array(pixels.length) : new Float32Array(pixels.length)
  if (slope === 1 && intercept === 0) {
    out.set(pixels)
    return out
  }
  for (let i = 0; i < pixels.length; i++) out[i] = pixels[i] * slope + intercept
  return out
}

/** Smallest and largest stored value (one pass). */
export function storedRange(pixels: ArrayLike<number>): { min: number; max: number } {
  let min = Infinity
  let max = -Infinity
  for (let i = 0; i < pixels.length; i++) {
    const v = pixels[i]
    if (v < min) min = v
    if (v > max) max = v
  }
  return pixels.length ? { min, max } : { min: 0, max: 0 }
}
