// FCOS target assignment (Tian et al. 2019, with centre sampling): a location is positive for a box
// when it lies near the box centre (within `centreRadius` strides) and the box's largest side
// distance fits the level's size range; among several candidates the smallest box wins.

export interface FcosLocations {
  /** Flat [N * 2] cell centres (x, y) in model-input pixels, ordered level, row, column. */
  points: Float32Array
  strides: Float32Array
  /** Flat [N * 2] (lower, upper) bound on max(l, t, r, b) for each location's level. */
  sizeRanges: Float32Array
  count: number
  levelStarts: number[]
}

export function generateLocations(imageSize: number, minLevel: number, maxLevel: number): FcosLocations {
  const points: number[] = []
  const strides: number[] = []
  const ranges: number[] = []
  const levelStarts: number[] = []
  for (let level = minLevel; level <= maxLevel; level++) {
    levelStarts.push(strides.length)
    const stride = 2 ** level
    // FCOS ranges 0-64-128-256-512-inf for P3..P7: each level takes sizes 4..8 strides
    const lower = level === minLevel ? 0 : 4 * stride
    const upper = level === maxLevel ? Infinity : 8 * stride
    const cells = Math.ceil(imageSize / stride)
    for (let row = 0; row < cells; row++) {
      for (let col = 0; col < cells; col++) {
        points.push((col + 0.5) * stride, (row + 0.5) * stride)
        strides.push(stride)
        ranges.push(lower, upper)
      }
    }
  }
  levelStarts.push(strides.length)
  return {
    points: Float32Array.from(points),
    strides: Float32Array.from(strides),
    sizeRanges: Float32Array.from(ranges),
    count: strides.length,
    levelStarts
  }
}

export interface FcosTargets {
  /** Per location: index of the assigned box, or -1. */
  matches: Int32Array
  /** One-hot class targets [N * numClasses]. */
  classes: Float32Array
  /** (l, t, r, b) distances divided by the stride [N * 4], zero where not positive. */
  distances: Float32Array
  /** sqrt(min(l,r)/max(l,r) * min(t,b)/max(t,b)) for positives. */
  centerness: Float32Array
  positives: Float32Array
  positiveCount: number
}

export function fcosTargets(
  locations: FcosLocations,
  gtBoxes: Float32Array,
  gtLabels: ArrayLike<number>,
  numClasses: number,
  centreRadius = 1.5
): FcosTargets {
  const n = locations.count
  const gtCount = gtBoxes.length / 4
  const targets: FcosTargets = {
    matches: new Int32Array(n).fill(-1),
    classes: new Float32Array(n * numClasses),
    distances: new Float32Array(n * 4),
    centerness: new Float32Array(n),
    positives: new Float32Array(n),
    positiveCount: 0
  }
  for (let i = 0; i < n; i++) {
    const x = locations.points[2 * i]
    const y = locations.points[2 * i + 1]
    const stride = locations.strides[i]
    let bestArea = Infinity
    for (let j = 0; j < gtCount; j++) {
      const [x1, y1, x2, y2] = gtBoxes.subarray(4 * j, 4 * j + 4)
      const l = x - x1
      const t = y - y1
      const r = x2 - x
      const b = y2 - y
      if (Math.min(l, t, r, b) <= 0) continue
      const reach = Math.max(l, t, r, b)
      if (reach < locations.sizeRanges[2 * i] || reach > locations.sizeRanges[2 * i + 1]) continue
      const radius = centreRadius * stride
      if (Math.abs(x - (x1 + x2) / 2) > radius || Math.abs(y - (y1 + y2) / 2) > radius) continue
      const boxArea = (x2 - x1) * (y2 - y1)
      if (boxArea < bestArea) {
        bestArea = boxArea
        targets.matches[i] = j
      }
    }
    const j = targets.matches[i]
    if (j < 0) continue
    const [x1, y1, x2, y2] = gtBoxes.subarray(4 * j, 4 * j + 4)
    const l = x - x1
    const t = y - y1
    const r = x2 - x
    const b = y2 - y
    targets.distances.set([l / stride, t / stride, r / stride, b / stride], 4 * i)
    targets.centerness[i] = Math.sqrt((Math.min(l, r) / Math.max(l, r)) * (Math.min(t, b) / Math.max(t, b)))
    targets.classes[i * numClasses + gtLabels[j]] = 1
    targets.positives[i] = 1
    targets.positiveCount++
  }
  return targets
}
