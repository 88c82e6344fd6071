// A preview is a reduced image drawn where the full image will be: its viewport's scale and pan are
// converted from and to the full image's, so the picture does not move when the full pixels replace
// it, and boxes and every coordinate the user sees stay in full-image pixels.

export interface Size {
  rows: number
  columns: number
}

/**
 * Preview pixel i stands for full pixels [i·factor + origin, (i+1)·factor + origin) along each axis
 * (ImagePreviewMeta): origin 0 for block means, -factor/2 for a JPEG 2000 wavelet level.
 */
export interface PreviewGrid {
  factor: number
  origin: number
  preview: Size
  full: Size
}

/** The part of a cornerstone viewport that places the image on the canvas. */
export interface ViewGeometry {
  scale: number
  translation: { x: number; y: number }
  hflip: boolean
  vflip: boolean
}

/**
 * cornerstone draws image point p at centre + scale·(translation + flip(p - size/2)) on the canvas
 * (calculateTransform). Equal for a full point P = factor·p + origin gives the preview's scale
 * factor times the full one's, and its pan (full pan + flip(shift)) / factor, with shift the
 * preview's grid offset from the full image's centre line.
 */
function shift(grid: PreviewGrid): { x: number; y: number } {
  return {
    x: grid.origin + (grid.factor * grid.preview.columns - grid.full.columns) / 2,
    y: grid.origin + (grid.factor * grid.preview.rows - grid.full.rows) / 2
  }
}

export function toPreviewView<V extends ViewGeometry>(full: V, grid: PreviewGrid): V {
  const d = shift(grid)
  return {
    ...full,
    scale: full.scale * grid.factor,
    translation: {
      x: (full.translation.x + (full.hflip ? -d.x : d.x)) / grid.factor,
      y: (full.translation.y + (full.vflip ? -d.y : d.y)) / grid.factor
    }
  }
}

export function toFullView<V extends ViewGeometry>(preview: V, grid: PreviewGrid): V {
  const d = shift(grid)
  return {
    ...preview,
    scale: preview.scale / grid.factor,
    translation: {
      x: preview.translation.x * grid.factor - (preview.hflip ? -d.x : d.x),
      y: preview.translation.y * grid.factor - (preview.vflip ? -d.y : d.y)
    }
  }
}

/** A point in full-image pixels in the preview's pixel coordinates. */
export function fullToPreviewPoint(
  point: { x: number; y: number },
  grid: PreviewGrid
): { x: number; y: number } {
  return { x: (point.x - grid.origin) / grid.factor, y: (point.y - grid.origin) / grid.factor }
}
