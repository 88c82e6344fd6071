import { describe, expect, it } from 'vitest'
import {
  fullToPreviewPoint,
  toFullView,
  toPreviewView,
  type PreviewGrid,
  type ViewGeometry
} from '../../renderer/src/viewer/preview-geometry'

const CANVAS = { width: 900, height: 700 }

/**
 * Where cornerstone-core 2.6 draws image point p (in that image's pixels) on the canvas, from its
 * calculateTransform: translate to the canvas centre, scale, pan, flip, back by half the image.
 */
function onCanvas(p: { x: number; y: number }, image: { columns: number; rows: number }, view: ViewGeometry) {
  const fx = view.hflip ? -1 : 1
  const fy = view.vflip ? -1 : 1
  return {
    x: CANVAS.width / 2 + view.scale * (view.translation.x + fx * (p.x - image.columns / 2)),
    y: CANVAS.height / 2 + view.scale * (view.translation.y + fy * (p.y - image.rows / 2))
  }
}

// A 2336 x 2836 JPEG 2000 image at level 3 (292 x 355, origin -4) and a 4240 x 3480 one averaged
// by 6 (ceil-sized 707 x 580): neither divides evenly, as in real files.
const GRIDS: Array<[string, PreviewGrid]> = [
  [
    'JPEG 2000 level 3',
    { factor: 8, origin: -4, preview: { columns: 292, rows: 355 }, full: { columns: 2336, rows: 2836 } }
  ],
  [
    'block means by 6',
    { factor: 6, origin: 0, preview: { columns: 707, rows: 580 }, full: { columns: 4240, rows: 3480 } }
  ]
]

const VIEWS: ViewGeometry[] = [
  { scale: 0.24, translation: { x: 0, y: 0 }, hflip: false, vflip: false },
  { scale: 1.7, translation: { x: -310.5, y: 122 }, hflip: true, vflip: false },
  { scale: 0.5, translation: { x: 40, y: -75.25 }, hflip: false, vflip: true },
  { scale: 3, translation: { x: 12, y: 9 }, hflip: true, vflip: true }
]

describe('a preview drawn where the full image will be', () => {
  it.each(GRIDS)('%s: every full-image point lands on the same canvas spot in both images', (_name, grid) => {
    for (const full of VIEWS) {
      const preview = toPreviewView(full, grid)
      for (const point of [
        { x: 0, y: 0 },
        { x: 1000.5, y: 17 },
        { x: grid.full.columns, y: grid.full.rows },
        { x: 333, y: 2500 }
      ]) {
        const fromFull = onCanvas(point, grid.full, full)
        const fromPreview = onCanvas(fullToPreviewPoint(point, grid), grid.preview, preview)
        expect(fromPreview.x).toBeCloseTo(fromFull.x, 6)
        expect(fromPreview.y).toBeCloseTo(fromFull.y, 6)
      }
    }
  })

  it.each(GRIDS)('%s: converting to the preview and back gives the full view again', (_name, grid) => {
    for (const full of VIEWS) {
      const back = toFullView(toPreviewView(full, grid), grid)
      expect(back.scale).toBeCloseTo(full.scale, 12)
      expect(back.translation.x).toBeCloseTo(full.translation.x, 9)
      expect(back.translation.y).toBeCloseTo(full.translation.y, 9)
      expect([back.hflip, back.vflip]).toEqual([full.hflip, full.vflip])
    }
  })

  it('maps a box corner to the preview pixel that stands for it', () => {
    const [, grid] = GRIDS[0]
    // full pixels 4..11 are preview pixel 1 at level 3 (origin -4): its left edge is full x = 4
    expect(fullToPreviewPoint({ x: 4, y: 12 }, grid)).toEqual({ x: 1, y: 2 })
    expect(fullToPreviewPoint({ x: 0, y: 0 }, grid)).toEqual({ x: 0.5, y: 0.5 })
  })

  it('keeps the extra fields of a cornerstone viewport (window, invert) through the conversion', () => {
    const [, grid] = GRIDS[1]
    const viewport = { ...VIEWS[1], voi: { windowCenter: 1800, windowWidth: 2400 }, invert: true }
    const preview = toPreviewView(viewport, grid)
    expect(preview.voi).toEqual(viewport.voi)
    expect(toFullView(preview, grid).invert).toBe(true)
  })
})
