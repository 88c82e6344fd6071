// EfficientDet anchors: per pyramid level, at every cell centre, `scalesPerOctave` sizes times each
// aspect ratio. The order (level, row, column, scale, ratio) matches how the heads flatten outputs.

export interface AnchorConfig {
  imageSize: number
  minLevel: number
  maxLevel: number
  /** Base anchor side = anchorScale * stride (4 in EfficientDet). */
  anchorScale: number
  scalesPerOctave: number
  /** Height / width of each anchor shape; the area is kept constant across ratios. */
  aspectRatios: number[]
}

export interface AnchorSet {
  /** Flat [count * 4] boxes x1 y1 x2 y2 in model-input pixels. */
  boxes: Float32Array
  count: number
  anchorsPerCell: number
  /** Index of each level's first anchor, plus `count` at the end. */
  levelStarts: number[]
}

export function generateAnchors(config: AnchorConfig): AnchorSet {
  const shapes: Array<[w: number, h: number]> = []
  for (let s = 0; s < config.scalesPerOctave; s++) {
    for (const ratio of config.aspectRatios) {
      const side = config.anchorScale * 2 ** (s / config.scalesPerOctave)
      shapes.push([side / Math.sqrt(ratio), side * Math.sqrt(ratio)])
    }
  }
  const levelStarts: number[] = []
  const boxes: number[] = []
  for (let level = config.minLevel; level <= config.maxLevel; level++) {
    levelStarts.push(boxes.length / 4)
    const stride = 2 ** level
    const cells = Math.ceil(config.imageSize / stride)
    for (let row = 0; row < cells; row++) {
      for (let col = 0; col < cells; col++) {
        const cx = (col + 0.5) * stride
        const cy = (row + 0.5) * stride
        for (const [w, h] of shapes) {
          boxes.push(
            cx - (w * stride) / 2,
            cy - (h * stride) / 2,
            cx + (w * stride) / 2,
            cy + (h * stride) / 2
          )
        }
      }
    }
  }
  levelStarts.push(boxes.length / 4)
  return {
    boxes: Float32Array.from(boxes),
    count: boxes.length / 4,
    anchorsPerCell: shapes.length,
    levelStarts
  }
}
