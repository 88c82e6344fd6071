// Pixels of a hard-demo image: the default chest turned by the patient's rotation, unboxed
// look-alikes and faint opacities drawn on it, then an exposure of its own (response curve, stored
// range, heel tilt, tissue texture) and quantum-like noise that grows with density and is slightly
// correlated between neighbours, as on a detector with a finite MTF.
import type { PixelFormat, PlannedImage } from './plan'
import { drawOpacity, renderChest, ValueNoise } from './phantom'
import type { StoredImage } from './pixels'
import { Random } from './random'

export interface Exposure {
  /** Response curve: density' = density^gamma. */
  gamma: number
  /** The stored range used, as fractions of the largest stored value. */
  low: number
  high: number
  /** Density added from the top edge (-tilt/2) to the bottom edge (+tilt/2): the anode heel effect. */
  tilt: number
  /** Noise sigma at density 0.5, in density units (the default demo has 0.012 everywhere). */
  noise: number
  /** Amplitude of a smooth texture over the whole image (scatter, soft tissue), in density units. */
  texture: number
  /** The VOI window, in densities, that the file carries when its format has one. */
  windowCenter: number
  windowWidth: number
}

/** One image's exposure; the ranges are what makes two hard-demo images look differently taken. */
export function randomExposure(random: Random): Exposure {
  return {
    gamma: random.range(0.8, 1.25),
    low: random.range(0.02, 0.14),
    high: random.range(0.72, 0.97),
    tilt: random.range(-0.06, 0.06),
    noise: random.range(0.024, 0.04),
    texture: random.range(0.015, 0.035),
    windowCenter: random.range(0.36, 0.56),
    windowWidth: random.range(0.65, 1.05)
  }
}

export function renderHardStoredPixels(seed: number, image: PlannedImage): StoredImage {
  const hard = image.hard
  if (!hard) throw new Error(`${image.imageId}: not a hard-demo image`)
  const { rows, columns } = image
  const random = new Random(seed, `pixels ${image.imageId}`)
  const upright = renderChest(image.geometry, [], rows, columns, random.fork('anatomy'))
  const density = rotateDensity(upright, rows, columns, hard.rotation)
  // opacities are drawn after the rotation, so each stays strictly inside its axis-aligned box
  for (const mimic of hard.mimics)
    drawOpacity(density, rows, columns, mimic, random.fork(`mimic ${mimic.x} ${mimic.y}`))
  for (const opacity of image.opacities)
    drawOpacity(density, rows, columns, opacity, random.fork(`opacity ${opacity.x} ${opacity.y}`))
  return expose(density, rows, columns, hard.exposure, image.format, random.fork('detector'))
}

/** The image turned by `angle` radians about its centre (bilinear, edges clamped). */
export function rotateDensity(
  source: Float32Array,
  rows: number,
  columns: number,
  angle: number
): Float32Array {
  const out = new Float32Array(source.length)
  const cos = Math.cos(angle)
  const sin = Math.sin(angle)
  const cx = columns / 2
  const cy = rows / 2
  for (let y = 0; y < rows; y++) {
    const dy = y + 0.5 - cy
    for (let x = 0; x < columns; x++) {
      const dx = x + 0.5 - cx
      // where this pixel was before the turn (inverse rotation)
      const sx = Math.min(columns - 1, Math.max(0, cos * dx + sin * dy + cx - 0.5))
      const sy = Math.min(rows - 1, Math.max(0, -sin * dx + cos * dy + cy - 0.5))
      const x0 = Math.min(columns - 2, Math.floor(sx))
      const y0 = Math.min(rows - 2, Math.floor(sy))
      const fx = sx - x0
      const fy = sy - y0
      const i = y0 * columns + x0
      out[y * columns + x] =
        (source[i] * (1 - fx) + source[i + 1] * fx) * (1 - fy) +
        (source[i + columns] * (1 - fx) + source[i + columns + 1] * fx) * fy
    }
  }
  return out
}

/** Where a point (pixels, upright anatomy) lands after the turn: the inverse of rotateDensity's lookup. */
export function rotatePoint(
  x: number,
  y: number,
  rows: number,
  columns: number,
  angle: number
): { x: number; y: number } {
  const dx = x - columns / 2
  const dy = y - rows / 2
  const cos = Math.cos(angle)
  const sin = Math.sin(angle)
  return { x: cos * dx - sin * dy + columns / 2, y: sin * dx + cos * dy + rows / 2 }
}

function expose(
  density: Float32Array,
  rows: number,
  columns: number,
  exposure: Exposure,
  format: PixelFormat,
  random: Random
): StoredImage {
  const max = 2 ** format.bitsStored - 1
  const low = max * exposure.low
  const span = max * (exposure.high - exposure.low)
  const invert = format.photometric === 'MONOCHROME1'
  const pixels = format.bitsAllocated === 8 ? new Uint8Array(density.length) : new Uint16Array(density.length)
  const noise = correlatedNoise(rows, columns, random.fork('noise'))
  const texture = new ValueNoise(random.fork('texture'), 40)
  const response = responseCurve(exposure.gamma)
  for (let y = 0; y < rows; y++) {
    const v = (y + 0.5) / rows
    const tilt = exposure.tilt * (v - 0.5)
    for (let x = 0; x < columns; x++) {
      const i = y * columns + x
      const d = Math.max(
        0,
        density[i] + tilt + exposure.texture * (texture.sample((x + 0.5) / columns, v) - 0.5)
      )
      const exposed = response(d)
      // fewer photons through dense parts: their noise is larger
      const sigma = exposure.noise * (0.6 + 0.8 * exposed)
      const value = Math.round(low + (exposed + sigma * noise[i]) * span)
      const clamped = Math.min(max, Math.max(0, value))
      pixels[i] = invert ? max - clamped : clamped
    }
  }
  if (!format.window) return { pixels }
  const storedCenter = low + exposure.windowCenter * span
  const slope = format.rescale?.slope ?? 1
  const intercept = format.rescale?.intercept ?? 0
  return {
    pixels,
    windowCenter: round1((invert ? max - storedCenter : storedCenter) * slope + intercept),
    windowWidth: round1(exposure.windowWidth * span * slope)
  }
}

/** d => d^gamma for d >= 0, from a table (a pow per pixel took half of an image's time). */
function responseCurve(gamma: number): (density: number) => number {
  const size = 4096
  const top = 2 // densities stay below 1.3
  const table = Float64Array.from({ length: size + 1 }, (_, k) => ((k / size) * top) ** gamma)
  return (density) => {
    const f = (Math.min(density, top) / top) * size
    const k = Math.min(size - 1, Math.floor(f))
    return table[k] + (table[k + 1] - table[k]) * (f - k)
  }
}

/** Unit-variance noise whose neighbours correlate (a plus-shaped blur of white noise). */
function correlatedNoise(rows: number, columns: number, random: Random): Float32Array {
  // a table of normal deviates: a Box-Muller draw per pixel would double the time (as in pixels.ts)
  const normals = Float32Array.from({ length: 4096 }, () => random.gaussian())
  const white = new Float32Array(rows * columns)
  for (let i = 0; i < white.length; i++) white[i] = normals[Math.floor(random.next() * 4096)]
  const out = new Float32Array(white.length)
  const norm = 1 / Math.sqrt(8) // weights 2,1,1,1,1: variance 4 + 4
  for (let y = 0; y < rows; y++) {
    const up = y > 0 ? -columns : columns
    const down = y < rows - 1 ? columns : -columns
    for (let x = 0; x < columns; x++) {
      const i = y * columns + x
      const left = x > 0 ? -1 : 1
      const right = x < columns - 1 ? 1 : -1
      out[i] = (2 * white[i] + white[i + left] + white[i + right] + white[i + up] + white[i + down]) * norm
    }
  }
  return out
}

function round1(value: number): number {
  return Math.round(value * 10) / 10
}
