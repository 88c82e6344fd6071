import { describe, expect, it } from 'vitest'
import {
  DEFAULT_AUGMENT,
  applyPhotometric,
  augmentSample,
  drawAugmentation,
  inversePoint,
  transformBox,
  transformBoxes,
  transformPoint,
  warpImage,
  type GeometricTransform
} from '../../../main/ml/data/augment'
import { seededRng } from '../../../main/ml/data/random'
import type { Box } from '../../../main/ml/detect/boxes'

const SIZE = 64

/** A black image with one white rectangle [x1, x2) x [y1, y2). */
function rectangleImage([x1, y1, x2, y2]: Box): Uint8Array {
  const pixels = new Uint8Array(SIZE * SIZE)
  for (let y = y1; y < y2; y++) for (let x = x1; x < x2; x++) pixels[y * SIZE + x] = 255
  return pixels
}

/** Bounding box of pixels brighter than mid-grey. */
function brightBounds(pixels: Uint8Array): Box {
  let x1 = SIZE
  let y1 = SIZE
  let x2 = 0
  let y2 = 0
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      if (pixels[y * SIZE + x] < 128) continue
      x1 = Math.min(x1, x)
      y1 = Math.min(y1, y)
      x2 = Math.max(x2, x + 1)
      y2 = Math.max(y2, y + 1)
    }
  }
  return [x1, y1, x2, y2]
}

describe('geometric augmentation', () => {
  it('a horizontal flip mirrors boxes about the centre', () => {
    const flip: GeometricTransform = { size: SIZE, flip: true, scale: 1, shiftX: 0, shiftY: 0 }
    expect(transformBox(flip, [10, 5, 20, 30])).toEqual([44, 5, 54, 30])
  })

  it('scale and shift move boxes about the image centre', () => {
    const t: GeometricTransform = { size: SIZE, flip: false, scale: 2, shiftX: 4, shiftY: -2 }
    // centre 32: x -> 2 * (x - 32) + 32 + 4
    expect(transformBox(t, [24, 24, 40, 40])).toEqual([20, 14, 52, 46])
  })

  it('inversePoint undoes transformPoint', () => {
    const t: GeometricTransform = { size: SIZE, flip: true, scale: 1.13, shiftX: -3.5, shiftY: 6.25 }
    const [x, y] = transformPoint(t, 17.5, 40.25)
    const [bx, by] = inversePoint(t, x, y)
    expect(bx).toBeCloseTo(17.5, 10)
    expect(by).toBeCloseTo(40.25, 10)
  })

  it('pixels and boxes move together: the warped rectangle lands inside its transformed box', () => {
    const box: Box = [12, 20, 30, 44]
    for (const t of [
      { size: SIZE, flip: true, scale: 1, shiftX: 0, shiftY: 0 },
      { size: SIZE, flip: false, scale: 1.2, shiftX: 5, shiftY: -4 },
      { size: SIZE, flip: true, scale: 0.85, shiftX: -3, shiftY: 2 }
    ]) {
      const warped = warpImage(rectangleImage(box), t)
      const expected = transformBox(t, box)
      const found = brightBounds(warped)
      for (let k = 0; k < 4; k++) expect(Math.abs(found[k] - expected[k])).toBeLessThanOrEqual(1)
    }
  })

  it('boxes pushed out of the image are clipped, and dropped when mostly gone', () => {
    const t: GeometricTransform = { size: SIZE, flip: false, scale: 1, shiftX: 30, shiftY: 0 }
    // [40,10,60,20] -> [70,10,90,20]: gone; [20,10,40,20] -> [50,10,70,20]: 70% visible -> clipped to 64
    expect(
      transformBoxes(t, [
        [40, 10, 60, 20],
        [20, 10, 40, 20]
      ])
    ).toEqual([[50, 10, 64, 20]])
  })
})

describe('photometric augmentation', () => {
  it('identity leaves pixels alone; brightness, contrast and gamma keep the order of grey levels', () => {
    const ramp = Uint8Array.from({ length: 256 }, (_, i) => i)
    expect(applyPhotometric(ramp, { brightness: 0, contrast: 1, gamma: 1 })).toEqual(ramp)
    const changed = applyPhotometric(ramp, { brightness: 0.1, contrast: 1.15, gamma: 0.8 })
    for (let i = 1; i < 256; i++) expect(changed[i]).toBeGreaterThanOrEqual(changed[i - 1])
    expect(changed[128]).toBeGreaterThan(128)
  })
})

describe('drawn augmentations', () => {
  it('are deterministic for the same seed and key, and differ across keys', () => {
    const a = drawAugmentation(seededRng(42, 'augment', 3, 'img1'), DEFAULT_AUGMENT, SIZE)
    const b = drawAugmentation(seededRng(42, 'augment', 3, 'img1'), DEFAULT_AUGMENT, SIZE)
    const c = drawAugmentation(seededRng(42, 'augment', 4, 'img1'), DEFAULT_AUGMENT, SIZE)
    expect(a).toEqual(b)
    expect(a).not.toEqual(c)
    const pixels = rectangleImage([10, 10, 30, 30])
    expect(augmentSample(pixels, [[10, 10, 30, 30]], a)).toEqual(augmentSample(pixels, [[10, 10, 30, 30]], b))
  })

  it('stay within the configured ranges', () => {
    for (let i = 0; i < 200; i++) {
      const { geometry, photometric } = drawAugmentation(seededRng(1, i), DEFAULT_AUGMENT, SIZE)
      expect(geometry.scale).toBeGreaterThanOrEqual(DEFAULT_AUGMENT.scale[0])
      expect(geometry.scale).toBeLessThanOrEqual(DEFAULT_AUGMENT.scale[1])
      expect(Math.abs(geometry.shiftX)).toBeLessThanOrEqual(DEFAULT_AUGMENT.translate * SIZE)
      expect(photometric.gamma).toBeGreaterThanOrEqual(DEFAULT_AUGMENT.gamma[0] - 1e-12)
      expect(photometric.gamma).toBeLessThanOrEqual(DEFAULT_AUGMENT.gamma[1] + 1e-12)
    }
  })
})
