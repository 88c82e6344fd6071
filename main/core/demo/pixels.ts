// Turns a rendered density image into stored values for a pixel format, so that every format looks
// the same after the modality LUT, VOI and (for MONOCHROME1) inversion.
import type { PixelFormat } from './plan'
import type { Random } from './random'

export interface StoredImage {
  pixels: Uint8Array | Uint16Array
  /** In modality units (after RescaleSlope/Intercept), when the format carries a window. */
  windowCenter?: number
  windowWidth?: number
}

export function toStoredPixels(density: Float32Array, format: PixelFormat, random: Random): StoredImage {
  const max = 2 ** format.bitsStored - 1
  // detectors never use the full range: leave a margin at both ends, different per image
  const low = max * random.range(0.03, 0.09)
  const high = max * random.range(0.88, 0.97)
  const span = high - low
  const sigma = 0.012 * span
  const invert = format.photometric === 'MONOCHROME1'
  const pixels = format.bitsAllocated === 8 ? new Uint8Array(density.length) : new Uint16Array(density.length)
  // detector noise from a table of normal deviates: a Box-Muller draw per pixel would double the demo's time
  const normals = Float32Array.from({ length: 4096 }, () => random.gaussian())
  for (let i = 0; i < density.length; i++) {
    const value = Math.round(low + density[i] * span + sigma * normals[Math.floor(random.next() * 4096)])
    const clamped = Math.min(max, Math.max(0, value))
    pixels[i] = invert ? max - clamped : clamped
  }
  if (!format.window) return { pixels }

  // a window over densities 0.05..0.9, mirrored for MONOCHROME1 so the inverted display matches
  const storedCenter = low + 0.475 * span
  const slope = format.rescale?.slope ?? 1
  const intercept = format.rescale?.intercept ?? 0
  return {
    pixels,
    windowCenter: round1((invert ? max - storedCenter : storedCenter) * slope + intercept),
    windowWidth: round1(0.85 * span * slope)
  }
}

function round1(value: number): number {
  return Math.round(value * 10) / 10
}
