// On-the-fly augmentation of a letterboxed square image and its boxes: horizontal flip,
// scale/translate about the centre, brightness/contrast/gamma. Geometry is one affine map applied to
// the pixels (by inverse sampling) and to the boxes (forward), so the two can never disagree.
import type { Box } from '../detect/boxes'
import { uniformIn, type Rng } from './random'

export interface AugmentConfig {
  /** Probability of a horizontal flip (chest films are roughly left-right symmetric). */
  flip: number
  /** Zoom factor range; > 1 enlarges. */
  scale: [number, number]
  /** Largest shift as a fraction of the side, each axis. */
  translate: number
  /** Largest brightness change, as a fraction of full range (added). */
  brightness: number
  /** Largest contrast change (multiplier 1 ± contrast about mid-grey). */
  contrast: number
  /** Gamma range; sampled log-uniformly. */
  gamma: [number, number]
}

export const DEFAULT_AUGMENT: AugmentConfig = {
  flip: 0.5,
  scale: [0.85, 1.15],
  translate: 0.08,
  brightness: 0.1,
  contrast: 0.15,
  gamma: [0.8, 1.25]
}

/** dest = flip(scale * (src - c) + c + shift), c the image centre; flip mirrors x about the centre. */
export interface GeometricTransform {
  size: number
  flip: boolean
  scale: number
  shiftX: number
  shiftY: number
}

export interface PhotometricTransform {
  brightness: number
  contrast: number
  gamma: number
}

export interface Augmentation {
  geometry: GeometricTransform
  photometric: PhotometricTransform
}

export const IDENTITY_PHOTOMETRIC: PhotometricTransform = { brightness: 0, contrast: 1, gamma: 1 }

export function identityGeometry(size: number): GeometricTransform {
  return { size, flip: false, scale: 1, shiftX: 0, shiftY: 0 }
}

/** Draws one augmentation; the same rng state always gives the same one. */
export function drawAugmentation(rng: Rng, config: AugmentConfig, size: number): Augmentation {
  const flip = rng() < config.flip
  const scale = uniformIn(rng, config.scale[0], config.scale[1])
  const shiftX = uniformIn(rng, -config.translate, config.translate) * size
  const shiftY = uniformIn(rng, -config.translate, config.translate) * size
  const brightness = uniformIn(rng, -config.brightness, config.brightness)
  const contrast = 1 + uniformIn(rng, -config.contrast, config.contrast)
  const gamma = Math.exp(uniformIn(rng, Math.log(config.gamma[0]), Math.log(config.gamma[1])))
  return { geometry: { size, flip, scale, shiftX, shiftY }, photometric: { brightness, contrast, gamma } }
}

export function transformPoint(t: GeometricTransform, x: number, y: number): [number, number] {
  const c = t.size / 2
  const dx = t.scale * (x - c) + c + t.shiftX
  const dy = t.scale * (y - c) + c + t.shiftY
  return [t.flip ? t.size - dx : dx, dy]
}

export function inversePoint(t: GeometricTransform, x: number, y: number): [number, number] {
  const c = t.size / 2
  const ux = t.flip ? t.size - x : x
  return [(ux - c - t.shiftX) / t.scale + c, (y - c - t.shiftY) / t.scale + c]
}

/** A box through the transform (not clipped). */
export function transformBox(t: GeometricTransform, box: Box): Box {
  const [ax, ay] = transformPoint(t, box[0], box[1])
  const [bx, by] = transformPoint(t, box[2], box[3])
  return [Math.min(ax, bx), Math.min(ay, by), Math.max(ax, bx), Math.max(ay, by)]
}

/** Smallest side (pixels) and visible fraction a box keeps after clipping, or it is dropped. */
const MIN_BOX_SIDE = 2
const MIN_VISIBLE = 0.3

/** Transforms and clips boxes to the image; boxes pushed mostly out of view are dropped. */
export function transformBoxes(t: GeometricTransform, boxes: readonly Box[]): Box[] {
  const out: Box[] = []
  for (const box of boxes) {
    const [x1, y1, x2, y2] = transformBox(t, box)
    const clipped: Box = [Math.max(0, x1), Math.max(0, y1), Math.min(t.size, x2), Math.min(t.size, y2)]
    const w = clipped[2] - clipped[0]
    const h = clipped[3] - clipped[1]
    if (w < MIN_BOX_SIDE || h < MIN_BOX_SIDE) continue
    if (w * h < MIN_VISIBLE * (x2 - x1) * (y2 - y1)) continue
    out.push(clipped)
  }
  return out
}

/** Resamples a square uint8 image through the transform (bilinear; outside the source is black). */
export function warpImage(pixels: Uint8Array, t: GeometricTransform): Uint8Array {
  const n = t.size
  const out = new Uint8Array(n * n)
  const c = n / 2
  const inv = 1 / t.scale
  for (let y = 0; y < n; y++) {
    // source coordinates of pixel centres: dest centre (x + 0.5) maps back, then -0.5 to index space
    const sy = (y + 0.5 - c - t.shiftY) * inv + c - 0.5
    const y0 = Math.floor(sy)
    const fy = sy - y0
    for (let x = 0; x < n; x++) {
      const ux = t.flip ? n - (x + 0.5) : x + 0.5
      const sx = (ux - c - t.shiftX) * inv + c - 0.5
      const x0 = Math.floor(sx)
      const fx = sx - x0
      const p00 = sample(pixels, n, x0, y0)
      const p10 = sample(pixels, n, x0 + 1, y0)
      const p01 = sample(pixels, n, x0, y0 + 1)
      const p11 = sample(pixels, n, x0 + 1, y0 + 1)
      const top = p00 + (p10 - p00) * fx
      const bottom = p01 + (p11 - p01) * fx
      out[y * n + x] = Math.round(top + (bottom - top) * fy)
    }
  }
  return out
}

function sample(pixels: Uint8Array, n: number, x: number, y: number): number {
  return x < 0 || y < 0 || x >= n || y >= n ? 0 : pixels[y * n + x]
}

/** Gamma, then contrast about mid-grey, then brightness, through one 256-entry table. */
export function photometricLut(p: PhotometricTransform): Uint8Array {
  const lut = new Uint8Array(256)
  for (let v = 0; v < 256; v++) {
    let x = (v / 255) ** p.gamma
    x = (x - 0.5) * p.contrast + 0.5 + p.brightness
    lut[v] = Math.round(Math.min(1, Math.max(0, x)) * 255)
  }
  return lut
}

export function applyPhotometric(pixels: Uint8Array, p: PhotometricTransform): Uint8Array {
  const lut = photometricLut(p)
  const out = new Uint8Array(pixels.length)
  for (let i = 0; i < pixels.length; i++) out[i] = lut[pixels[i]]
  return out
}

export function isIdentityGeometry(t: GeometricTransform): boolean {
  return !t.flip && t.scale === 1 && t.shiftX === 0 && t.shiftY === 0
}

/** Applies an augmentation to a square image and its boxes (model-input pixels). */
export function augmentSample(
  pixels: Uint8Array,
  boxes: readonly Box[],
  a: Augmentation
): { pixels: Uint8Array; boxes: Box[] } {
  const warped = isIdentityGeometry(a.geometry) ? pixels : warpImage(pixels, a.geometry)
  return { pixels: applyPhotometric(warped, a.photometric), boxes: transformBoxes(a.geometry, boxes) }
}
