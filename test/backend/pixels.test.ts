import { describe, expect, it } from 'vitest'
import { robustWindow, storedRange, type DecodedImage, type StoredPixels } from '../../common/pixels'
import { pixelPayload, pixelStats } from '../../main/backend/viewer/pixels'

function image(pixels: StoredPixels, rescaleSlope = 1, rescaleIntercept = 0): DecodedImage {
  return {
    rows: 1,
    columns: pixels.length,
    bitsAllocated: pixels.BYTES_PER_ELEMENT * 8,
    bitsStored: pixels.BYTES_PER_ELEMENT * 8,
    highBit: pixels.BYTES_PER_ELEMENT * 8 - 1,
    pixelRepresentation: pixels instanceof Int16Array || pixels instanceof Int8Array ? 1 : 0,
    photometric: 'MONOCHROME2',
    samplesPerPixel: 1,
    transferSyntaxUid: '1.2.840.10008.1.2.1',
    rescaleSlope,
    rescaleIntercept,
    windowCenter: null,
    windowWidth: null,
    voiLut: null,
    pixels
  }
}

/** A skewed histogram with outliers at both ends, like a radiograph with collimator edges and markers. */
function radiograph<T extends StoredPixels>(
  Type: new (n: number) => T,
  low: number,
  high: number,
  seed: number
): T {
  const pixels = new Type(20_000)
  let state = seed
  const random = () => (state = (state * 1103515245 + 12345) >>> 0) / 2 ** 32
  for (let i = 0; i < pixels.length; i++) {
    const r = random()
    pixels[i] =
      r < 0.01 ? low : r > 0.995 ? high : Math.round(low + (high - low) * (0.2 + 0.5 * random() * random()))
  }
  return pixels
}

describe('pixelStats (the viewer payload header)', () => {
  it.each([
    ['uint16, 12 bits', () => image(radiograph(Uint16Array, 0, 4095, 1))],
    ['uint16, 16 bits, rescaled', () => image(radiograph(Uint16Array, 3, 65535, 2), 0.5, -1024)],
    ['int16 with a negative slope', () => image(radiograph(Int16Array, -2000, 3000, 3), -1, 100)],
    ['uint8', () => image(radiograph(Uint8Array, 10, 250, 4))],
    ['int8', () => image(radiograph(Int8Array, -100, 120, 5))]
  ])('gives the same range and auto window as the pixel pipeline for %s', (_name, make) => {
    const img = make()
    const stats = pixelStats(img)
    expect({ min: stats.min, max: stats.max }).toEqual(storedRange(img.pixels))
    expect(stats.autoWindow).toEqual(robustWindow(img))
  })

  it('ships the stored values themselves, viewable without a copy', () => {
    const pixels = radiograph(Int16Array, -500, 1500, 6)
    const decoded = { ...image(pixels), windowCenter: [40, 300], windowWidth: [400, 0] }
    const { meta, data } = pixelPayload('abc', decoded, pixelStats(decoded), 3)
    expect(meta.pixelFormat).toBe('int16')
    expect([meta.minPixelValue, meta.maxPixelValue]).toEqual([-500, 1500])
    expect(data.buffer).toBe(pixels.buffer)
    // a width below 1 is not a usable window (PS3.3 C.11.2.1.2): only the first pair is offered
    expect(meta.fileWindows).toEqual([{ center: 40, width: 400 }])
  })
})
