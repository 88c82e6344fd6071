// A synthetic PA chest radiograph: body, two dark lung fields, mediastinum and heart, spine, ribs,
// clavicles and lung texture, plus opacities drawn strictly inside their boxes. Values are
// "density" in about 0..1 (bright = dense, as on a MONOCHROME2 display).
import { Random } from './random'

/** Anatomy in normalised image coordinates (u = x / columns, v = y / rows), jittered per image. */
export interface ChestGeometry {
  midline: number
  lungTop: number
  lungBottom: number
  /** Lateral half-width of each lung at its base, and its centre; "right" is the patient's right, on the image's left. */
  rightLung: { center: number; halfWidth: number }
  leftLung: { center: number; halfWidth: number }
  mediastinumHalfWidth: number
  heart: { u: number; v: number; halfWidth: number; halfHeight: number }
  ribStart: number
  ribSpacing: number
  /** Half-width of the body below the shoulders (default 0.45); the hard demo varies it per patient. */
  bodyHalfWidth?: number
  /** Peak density of a posterior rib (default 0.08). */
  ribContrast?: number
  /** Half-width of the soft transition at the lung edges (default 0.012). */
  lungEdge?: number
}

/** An opacity in pixels; it is zero outside [x, x+width] x [y, y+height]. */
export interface Opacity {
  x: number
  y: number
  width: number
  height: number
  /** Peak added density. */
  density: number
  /** 0 = homogeneous, 1 = strongly mottled. */
  texture: number
  /** A flat-topped consolidation instead of a dome-shaped patch. */
  dense: boolean
  /** A faint ground-glass patch: an irregular ellipse with soft edges (the hard demo's opacities). */
  groundGlass?: boolean
}

export type LungSide = 'right' | 'left'

export function chestGeometry(random: Random): ChestGeometry {
  const midline = 0.5 + random.range(-0.025, 0.025)
  const spread = random.range(0.185, 0.215)
  const lungBottom = random.range(0.76, 0.84)
  const heartHalfHeight = random.range(0.1, 0.13)
  return {
    midline,
    lungTop: random.range(0.1, 0.15),
    lungBottom,
    rightLung: { center: midline - spread, halfWidth: random.range(0.14, 0.16) },
    leftLung: { center: midline + spread, halfWidth: random.range(0.13, 0.15) },
    mediastinumHalfWidth: random.range(0.055, 0.07),
    heart: {
      u: midline + random.range(0.05, 0.08),
      v: lungBottom - 0.7 * heartHalfHeight,
      halfWidth: random.range(0.12, 0.15),
      halfHeight: heartHalfHeight
    },
    ribStart: random.range(0.1, 0.13),
    ribSpacing: random.range(0.062, 0.072)
  }
}

/** The box (normalised) that a lung occupies: lateral edge to mediastinum, apex to base. */
export function lungExtent(
  geometry: ChestGeometry,
  side: LungSide
): { u0: number; u1: number; v0: number; v1: number } {
  const lung = side === 'right' ? geometry.rightLung : geometry.leftLung
  const medial =
    side === 'right'
      ? geometry.midline - geometry.mediastinumHalfWidth
      : geometry.midline + geometry.mediastinumHalfWidth
  const lateral = side === 'right' ? lung.center - lung.halfWidth : lung.center + lung.halfWidth
  return {
    u0: Math.min(medial, lateral),
    u1: Math.max(medial, lateral),
    v0: geometry.lungTop,
    v1: geometry.lungBottom
  }
}

export function smoothstep(edge0: number, edge1: number, x: number): number {
  const t = Math.min(1, Math.max(0, (x - edge0) / (edge1 - edge0)))
  return t * t * (3 - 2 * t)
}

/** Smooth random field in 0..1 with `cells` cells across the image. */
export class ValueNoise {
  private readonly grid: Float32Array
  private readonly size: number
  constructor(
    random: Random,
    private readonly cells: number
  ) {
    this.size = cells + 2
    this.grid = Float32Array.from({ length: this.size * this.size }, () => random.next())
  }
  sample(u: number, v: number): number {
    const x = Math.min(Math.max(u, 0), 1) * this.cells
    const y = Math.min(Math.max(v, 0), 1) * this.cells
    const x0 = Math.floor(x)
    const y0 = Math.floor(y)
    const fx = smoothstep(0, 1, x - x0)
    const fy = smoothstep(0, 1, y - y0)
    const g = this.grid
    const s = this.size
    const top = g[y0 * s + x0] * (1 - fx) + g[y0 * s + x0 + 1] * fx
    const bottom = g[(y0 + 1) * s + x0] * (1 - fx) + g[(y0 + 1) * s + x0 + 1] * fx
    return top * (1 - fy) + bottom * fy
  }
}

/** 0..1: how much of the lung is at (u, v). The base widens and domes; the heart takes part of the left lung. */
export function lungMask(g: ChestGeometry, side: LungSide, u: number, v: number): number {
  const lung = side === 'right' ? g.rightLung : g.leftLung
  const height = g.lungBottom - g.lungTop
  const depth = (v - g.lungTop) / height
  if (depth < -0.1 || depth > 1.1) return 0
  const halfWidth = lung.halfWidth * (0.55 + 0.45 * Math.sqrt(Math.min(1, Math.max(0, depth))))
  const edge = g.lungEdge ?? 0.012
  if (Math.abs(u - lung.center) > halfWidth + edge) return 0
  const dx = (u - lung.center) / lung.halfWidth
  const apex = g.lungTop + 0.16 * dx * dx
  const dome = g.lungBottom - 0.07 * Math.max(0, 1 - dx * dx) // diaphragm rises towards the lung's middle
  const medial = Math.abs(u - g.midline) - g.mediastinumHalfWidth * (1 + 0.5 * depth)
  const inside = Math.min(v - apex, dome - v, halfWidth - Math.abs(u - lung.center), medial)
  let mask = smoothstep(-edge, edge, inside)
  if (side === 'left') {
    const hu = (u - g.heart.u) / g.heart.halfWidth
    const hv = (v - g.heart.v) / g.heart.halfHeight
    mask *= smoothstep(0.85, 1.15, Math.sqrt(hu * hu + hv * hv))
  }
  return mask
}

function bodyHalfWidth(g: ChestGeometry, v: number): number {
  return 0.13 + ((g.bodyHalfWidth ?? 0.45) - 0.13) * smoothstep(0.0, 0.14, v)
}

/** Distance from (u, v) to the segment a-b, in normalised units. */
function segmentDistance(u: number, v: number, au: number, av: number, bu: number, bv: number): number {
  const du = bu - au
  const dv = bv - av
  const t = Math.min(1, Math.max(0, ((u - au) * du + (v - av) * dv) / (du * du + dv * dv)))
  return Math.hypot(u - au - t * du, v - av - t * dv)
}

/** Renders the chest and its opacities into a rows x columns density image. */
export function renderChest(
  geometry: ChestGeometry,
  opacities: Opacity[],
  rows: number,
  columns: number,
  random: Random
): Float32Array {
  const g = geometry
  const density = new Float32Array(rows * columns)
  const vessels = new ValueNoise(random.fork('vessels'), 28)
  const mottle = new ValueNoise(random.fork('mottle'), 9)
  const hilumV = g.lungTop + 0.4 * (g.lungBottom - g.lungTop)
  // terms that depend on the column only
  const us = Float32Array.from({ length: columns }, (_, x) => (x + 0.5) / columns)
  const spine = us.map((u) => 0.05 * Math.exp(-(((u - g.midline) / 0.022) ** 2)))
  for (let y = 0; y < rows; y++) {
    const v = (y + 0.5) / rows
    const halfBody = bodyHalfWidth(g, v)
    const mediastinumHalfWidth = g.mediastinumHalfWidth * (1 + 0.4 * smoothstep(g.lungTop, g.lungBottom, v))
    const ribFade = smoothstep(g.lungBottom + 0.05, g.lungBottom - 0.02, v)
    const nearClavicles = v < 0.2
    for (let x = 0; x < columns; x++) {
      const u = us[x]
      const d = Math.abs(u - g.midline)
      const body = smoothstep(0, 0.02, halfBody - d)
      // X-ray path length through an elliptic cross-section: soft tissue fades towards the flanks
      let value =
        0.04 + body * (0.56 * Math.sqrt(Math.max(0, 1 - (d / (halfBody + 0.01)) ** 2)) + 0.06 + spine[x])

      const lung = lungMask(g, 'right', u, v) + lungMask(g, 'left', u, v)
      if (lung > 0) {
        // lung markings: vessels fanning out from the hila, fading towards the periphery
        const hilum = Math.exp(-Math.hypot(d - g.mediastinumHalfWidth - 0.02, v - hilumV) / 0.09)
        value +=
          lung *
          (-0.34 + 0.1 * (vessels.sample(u, v) - 0.5) + 0.1 * hilum + 0.04 * (mottle.sample(u, v) - 0.5))
      }
      value += body * 0.1 * smoothstep(0.01, -0.01, d - mediastinumHalfWidth)

      // posterior ribs: arcs from the spine that curve down laterally
      if (d > 0.03 && ribFade > 0) {
        const offset = v - g.ribStart - 0.22 * d - 0.6 * (d - 0.1) ** 2
        const k = Math.round(offset / g.ribSpacing)
        const thickness = 0.011 + 0.008 * d
        const distance = offset - k * g.ribSpacing
        if (k >= 0 && k < 10 && Math.abs(distance) < 3 * thickness) {
          value +=
            body *
            (g.ribContrast ?? 0.08) *
            ribFade *
            smoothstep(0.03, 0.07, d) *
            Math.exp(-((distance / thickness) ** 2))
        }
      }
      if (nearClavicles) {
        const side = u < g.midline ? -1 : 1
        const clavicle = segmentDistance(
          u,
          v,
          g.midline + side * 0.045,
          0.135,
          g.midline + side * 0.28,
          0.085
        )
        if (clavicle < 0.04) value += body * 0.14 * Math.exp(-((clavicle / 0.013) ** 2))
      }
      density[y * columns + x] = value
    }
  }
  for (const opacity of opacities)
    drawOpacity(density, rows, columns, opacity, random.fork(`opacity ${opacity.x} ${opacity.y}`))
  return density
}

/** Adds one opacity; its profile is zero on and outside the box edges, so it never leaks out of its box. */
export function drawOpacity(
  density: Float32Array,
  rows: number,
  columns: number,
  opacity: Opacity,
  random: Random
): void {
  const texture = new ValueNoise(random, 6)
  const fine = new ValueNoise(random.fork('fine'), 11)
  if (opacity.groundGlass) return drawGroundGlass(density, rows, columns, opacity, texture, fine)
  const x0 = Math.max(0, Math.ceil(opacity.x - 0.5))
  const x1 = Math.min(columns - 1, Math.floor(opacity.x + opacity.width - 0.5))
  const y0 = Math.max(0, Math.ceil(opacity.y - 0.5))
  const y1 = Math.min(rows - 1, Math.floor(opacity.y + opacity.height - 0.5))
  const profile = (t: number) =>
    opacity.dense ? smoothstep(0, 0.3, t) * smoothstep(0, 0.3, 1 - t) : Math.sin(Math.PI * t) ** 0.6
  for (let y = y0; y <= y1; y++) {
    const ty = (y + 0.5 - opacity.y) / opacity.height
    const py = profile(ty)
    for (let x = x0; x <= x1; x++) {
      const tx = (x + 0.5 - opacity.x) / opacity.width
      const mottling =
        1 + opacity.texture * (0.9 * (texture.sample(tx, ty) - 0.5) + 0.5 * (fine.sample(tx, ty) - 0.5))
      density[y * columns + x] += opacity.density * profile(tx) * py * Math.max(0, mottling)
    }
  }
}

/**
 * A ground-glass patch: an ellipse inscribed in the box whose outline wobbles with the texture, a
 * soft (not plateaued) edge, and a window that is zero on the box edges so nothing leaks out.
 */
function drawGroundGlass(
  density: Float32Array,
  rows: number,
  columns: number,
  opacity: Opacity,
  texture: ValueNoise,
  fine: ValueNoise
): void {
  const x0 = Math.max(0, Math.ceil(opacity.x - 0.5))
  const x1 = Math.min(columns - 1, Math.floor(opacity.x + opacity.width - 0.5))
  const y0 = Math.max(0, Math.ceil(opacity.y - 0.5))
  const y1 = Math.min(rows - 1, Math.floor(opacity.y + opacity.height - 0.5))
  for (let y = y0; y <= y1; y++) {
    const ty = (y + 0.5 - opacity.y) / opacity.height
    const wy = Math.sin(Math.PI * ty) ** 0.3
    for (let x = x0; x <= x1; x++) {
      const tx = (x + 0.5 - opacity.x) / opacity.width
      const coarse = texture.sample(tx, ty)
      const r = Math.hypot(2 * tx - 1, 2 * ty - 1) / (0.8 + 0.35 * coarse)
      if (r >= 1) continue
      const mottling = 1 + opacity.texture * (0.8 * (coarse - 0.5) + 0.6 * (fine.sample(tx, ty) - 0.5))
      const window = wy * Math.sin(Math.PI * tx) ** 0.3
      density[y * columns + x] += opacity.density * (1 - r * r) ** 1.5 * window * Math.max(0, mottling)
    }
  }
}
