import { describe, expect, it } from 'vitest'
import { generateAnchors } from '../../../main/ml/detect/anchors'
import { BACKGROUND, IGNORED, anchorTargets, matchAnchors } from '../../../main/ml/detect/anchor-targets'
import { decodeBox, encodeBox } from '../../../main/ml/detect/box-coding'
import { flipBoxesHorizontally, type Detections } from '../../../main/ml/detect/boxes'
import { fcosTargets, generateLocations } from '../../../main/ml/detect/fcos-targets'
import { mergeDetections, nonMaxSuppression, weightedBoxesFusion } from '../../../main/ml/detect/postprocess'

/** 16 px image, one stride-8 level (2 x 2 cells), anchor side = 1 stride, ratios h/w 1 and 4. */
const SMALL_ANCHORS = {
  imageSize: 16,
  minLevel: 3,
  maxLevel: 3,
  anchorScale: 1,
  scalesPerOctave: 1,
  aspectRatios: [1, 4]
}

function rows(flat: Float32Array): number[][] {
  return Array.from({ length: flat.length / 4 }, (_, i) => Array.from(flat.subarray(4 * i, 4 * i + 4)))
}

describe('anchors', () => {
  it('places every shape at each cell centre in level, row, column, shape order', () => {
    const anchors = generateAnchors(SMALL_ANCHORS)
    expect(anchors.count).toBe(8)
    expect(anchors.anchorsPerCell).toBe(2)
    expect(anchors.levelStarts).toEqual([0, 8])
    // centres (4,4), (12,4), (4,12), (12,12); ratio 4 keeps the area: 4 wide, 16 tall
    expect(rows(anchors.boxes)).toEqual([
      [0, 0, 8, 8],
      [2, -4, 6, 12],
      [8, 0, 16, 8],
      [10, -4, 14, 12],
      [0, 8, 8, 16],
      [2, 4, 6, 20],
      [8, 8, 16, 16],
      [10, 4, 14, 20]
    ])
  })

  it('scales anchors by octave and stride across levels (EfficientDet: 4 strides, 3 scales x 3 ratios)', () => {
    const anchors = generateAnchors({
      imageSize: 64,
      minLevel: 3,
      maxLevel: 4,
      anchorScale: 4,
      scalesPerOctave: 3,
      aspectRatios: [0.5, 1, 2]
    })
    expect(anchors.anchorsPerCell).toBe(9)
    expect(anchors.count).toBe(9 * (8 * 8 + 4 * 4))
    expect(anchors.levelStarts).toEqual([0, 576, 720])
    const side = (i: number) => anchors.boxes[4 * i + 2] - anchors.boxes[4 * i]
    // first cell of P3: square anchors (ratio index 1) are 32, 32 * 2^(1/3), 32 * 2^(2/3) px wide
    expect(side(1)).toBeCloseTo(32, 4)
    expect(side(4)).toBeCloseTo(32 * 2 ** (1 / 3), 4)
    expect(side(7)).toBeCloseTo(32 * 2 ** (2 / 3), 4)
    // first cell of P4 is centred at (8, 8) with a 64 px square anchor
    expect(Array.from(anchors.boxes.subarray(4 * 577, 4 * 578))).toEqual([-24, -24, 40, 40])
  })
})

describe('anchor target assignment', () => {
  const anchors = generateAnchors(SMALL_ANCHORS)
  // gt0 equals anchor 0; gt1 overlaps anchor 2 (IoU 0.63) and anchor 3 (0.48); gt2 is tiny and
  // overlaps anchors 4 and 5 equally (0.125): both become positives through the best-match rule
  const gt = Float32Array.from([0, 0, 8, 8, 9, -2, 15, 8, 4, 10, 6, 14])

  it('marks IoU >= 0.5 positive, 0.4-0.5 ignored, the rest background, and gives every box its best anchors', () => {
    expect(Array.from(matchAnchors(anchors, gt))).toEqual([
      0,
      BACKGROUND,
      1,
      IGNORED,
      2,
      2,
      BACKGROUND,
      BACKGROUND
    ])
  })

  it('encodes positives as centre offsets in anchor units and log size ratios', () => {
    const targets = anchorTargets(anchors, gt, [0, 0, 0], 1, matchAnchors(anchors, gt))
    expect(targets.positiveCount).toBe(4)
    expect(Array.from(targets.classWeights)).toEqual([1, 1, 1, 0, 1, 1, 1, 1])
    expect(Array.from(targets.classes)).toEqual([1, 0, 1, 0, 1, 1, 0, 0])
    // anchor 2 (centre 12,4, 8x8) vs gt1 (centre 12,3, 6 wide, 10 tall)
    const d = Array.from(targets.deltas.subarray(8, 12))
    expect(d[0]).toBeCloseTo(0, 6)
    expect(d[1]).toBeCloseTo(-1 / 8, 6)
    expect(d[2]).toBeCloseTo(Math.log(6 / 8), 6)
    expect(d[3]).toBeCloseTo(Math.log(10 / 8), 6)
    expect(Array.from(targets.boxes.subarray(8, 12))).toEqual([9, -2, 15, 8])
  })

  it('decode(encode(box)) returns the box for any anchor', () => {
    const anchorsFlat = Float32Array.from([10, 20, 50, 40, -5, 0, 5, 100, 100, 100, 300, 180])
    const boxes = Float32Array.from([0, 0, 64, 64, 3, 7, 9, 90, 120, 90, 250, 260])
    const out = new Float32Array(4)
    for (let a = 0; a < 3; a++) {
      for (let b = 0; b < 3; b++) {
        encodeBox(anchorsFlat, a, boxes, b, out, 0)
        const decoded = decodeBox(anchorsFlat, a, out, 0)
        decoded.forEach((v, k) => expect(v).toBeCloseTo(boxes[4 * b + k], 3))
      }
    }
  })
})

describe('FCOS target assignment', () => {
  // 64 px, levels P3 (8 x 8 locations, sizes up to 64) and P4 (4 x 4, sizes from 64)
  const locations = generateLocations(64, 3, 4)
  const small = [2, 2, 14, 14]
  const mid = [0, 0, 40, 40]
  const targets = fcosTargets(locations, Float32Array.from([...small, ...mid]), [0, 0], 1)

  it('makes locations near a box centre positive on the level that fits its size, smallest box first', () => {
    expect(locations.count).toBe(64 + 16)
    const positives = [...targets.matches.entries()].filter(([, j]) => j >= 0)
    // small box: P3 cells (4,4) (12,4) (4,12) (12,12); mid box: P3 cells within 12 px of (20,20),
    // except (12,12) which both boxes claim and the smaller one wins; P4 sizes start at 64, so none there
    expect(positives).toEqual([
      [0, 0],
      [1, 0],
      [8, 0],
      [9, 0],
      [10, 1],
      [11, 1],
      [17, 1],
      [18, 1],
      [19, 1],
      [25, 1],
      [26, 1],
      [27, 1]
    ])
    expect(targets.positiveCount).toBe(12)
  })

  it('encodes side distances in strides and the centre-ness of each positive', () => {
    // location 0 is (4,4) inside the small box: l=t=2, r=b=10 px
    expect(Array.from(targets.distances.subarray(0, 4))).toEqual([0.25, 0.25, 1.25, 1.25])
    expect(targets.centerness[0]).toBeCloseTo(0.2, 6)
    // location 18 is (20,20), the mid box's centre
    expect(Array.from(targets.distances.subarray(72, 76))).toEqual([2.5, 2.5, 2.5, 2.5])
    expect(targets.centerness[18]).toBeCloseTo(1, 6)
  })
})

describe('merging detections', () => {
  const detections: Detections = {
    boxes: [
      [0, 0, 10, 10],
      [1, 1, 11, 11],
      [20, 20, 30, 30],
      [0, 0, 10, 10]
    ],
    scores: [0.9, 0.8, 0.7, 0.85],
    labels: [0, 0, 0, 1]
  }

  it('NMS drops a same-class box overlapping a better one and keeps other classes', () => {
    const kept = nonMaxSuppression(detections, { iouThreshold: 0.5, maxDetections: 10 })
    expect(kept.scores).toEqual([0.9, 0.85, 0.7])
    expect(kept.labels).toEqual([0, 1, 0])
    expect(kept.boxes).toEqual([detections.boxes[0], detections.boxes[3], detections.boxes[2]])
    expect(nonMaxSuppression(detections, { iouThreshold: 0.5, maxDetections: 2 }).scores).toEqual([0.9, 0.85])
  })

  it('weighted box fusion averages clustered boxes by score and halves a box only one of two views found', () => {
    const view1: Detections = {
      boxes: [
        [0, 0, 10, 10],
        [30, 30, 40, 40]
      ],
      scores: [0.9, 0.8],
      labels: [0, 0]
    }
    const view2: Detections = { boxes: [[2, 0, 12, 10]], scores: [0.6], labels: [0] }
    const fused = weightedBoxesFusion([view1, view2], { iouThreshold: 0.55, maxDetections: 10 })
    expect(fused.scores[0]).toBeCloseTo(0.75, 6)
    fused.boxes[0].forEach((v, k) => expect(v).toBeCloseTo([0.8, 0, 10.8, 10][k], 5))
    expect(fused.scores[1]).toBeCloseTo(0.4, 6)
    expect(fused.boxes[1]).toEqual([30, 30, 40, 40])
  })

  it('mirrors boxes for flip TTA so the flipped view merges onto the original', () => {
    expect(flipBoxesHorizontally([[1, 2, 5, 6]], 10)).toEqual([[5, 2, 9, 6]])
    const original: Detections = { boxes: [[10, 10, 30, 40]], scores: [0.8], labels: [0] }
    const flippedView: Detections = {
      boxes: flipBoxesHorizontally([[34, 10, 54, 40]], 64),
      scores: [0.6],
      labels: [0]
    }
    const merged = mergeDetections([original, flippedView], 'wbf', { iouThreshold: 0.55, maxDetections: 10 })
    expect(merged.boxes).toHaveLength(1)
    merged.boxes[0].forEach((v, k) => expect(v).toBeCloseTo([10, 10, 30, 40][k], 5))
  })
})
