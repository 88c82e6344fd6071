import { describe, expect, it } from 'vitest'
import {
  boxFromLetterbox,
  boxToLetterbox,
  chooseVoi,
  displayLut,
  letterbox,
  linearVoi,
  modalityValues,
  renderDisplay,
  resizeGray,
  resizeThroughLut,
  robustWindow,
  type DecodedImage
} from '../../common/pixels'
import { decodeFile } from '../../main/core/dicom/decode'
import { fixturePath } from './fixtures'

function image(pixels: DecodedImage['pixels'], overrides: Partial<DecodedImage> = {}): DecodedImage {
  return {
    rows: 1,
    columns: pixels.length,
    bitsAllocated: 16,
    bitsStored: 12,
    highBit: 11,
    pixelRepresentation: 0,
    photometric: 'MONOCHROME2',
    samplesPerPixel: 1,
    transferSyntaxUid: '1.2.840.10008.1.2.1',
    rescaleSlope: 1,
    rescaleIntercept: 0,
    windowCenter: null,
    windowWidth: null,
    voiLut: null,
    pixels,
    ...overrides
  }
}

describe('modality LUT', () => {
  it('is int32 for integral rescale and float32 otherwise', () => {
    expect(modalityValues(image(new Uint16Array([0, 10]), { rescaleIntercept: -1024 }))).toEqual(
      new Int32Array([-1024, -1014])
    )
    expect(
      modalityValues(image(new Int16Array([-2, 3]), { rescaleSlope: 0.5, rescaleIntercept: 0.25 }))
    ).toEqual(new Float32Array([-0.75, 1.75]))
  })
})

describe('VOI', () => {
  it('follows the DICOM linear function (PS3.3 C.11.2.1.2.1)', () => {
    const window = { center: 2048, width: 4096 }
    expect(linearVoi(0, window)).toBe(0) // x <= c - 0.5 - (w-1)/2 = 0
    expect(linearVoi(4095, window)).toBe(255) // x > c - 0.5 + (w-1)/2 = 4095 is white, 4095 itself maps to 255 too
    expect(linearVoi(2047.5, window)).toBeCloseTo(127.5, 10)
    expect(linearVoi(10, { center: 10.5, width: 1 })).toBe(0) // width 1 is a threshold at c - 0.5
    expect(linearVoi(11, { center: 10.5, width: 1 })).toBe(255)
  })

  it('uses the file window first, then the VOI LUT, then the robust window', () => {
    const lut = { firstMapped: 0, bits: 8, data: new Uint16Array([0, 255]) }
    expect(
      chooseVoi(image(new Uint16Array([1]), { windowCenter: [40], windowWidth: [80], voiLut: lut }))
    ).toMatchObject({ kind: 'window', source: 'file' })
    expect(chooseVoi(image(new Uint16Array([1]), { voiLut: lut }))).toMatchObject({ kind: 'lut' })
    expect(chooseVoi(image(new Uint16Array([1, 2])))).toMatchObject({ kind: 'window', source: 'robust' })
    expect(chooseVoi(image(new Uint16Array([1]), { windowCenter: [40], windowWidth: [0] }))).toMatchObject({
      source: 'robust'
    })
  })

  it('robust window spans the 0.5-99.5 percentiles, ignoring outliers', () => {
    const values = new Uint16Array(1000).map((_, i) => 1000 + i)
    values[0] = 0 // a dark outlier
    values[999] = 4095 // a burned-in white label
    const window = robustWindow(image(values))
    // 5th and 995th smallest of 1000 values: 1004 and 1994
    const img = image(values, { windowCenter: [window.center], windowWidth: [window.width] })
    const display = renderDisplay(img)
    expect(display[values.indexOf(1004)]).toBe(0)
    expect(display[values.indexOf(1994)]).toBe(255)
    expect(display[500]).toBeGreaterThan(100)
    expect(display[500]).toBeLessThan(155)
  })

  it('robust window honours a negative rescale slope', () => {
    const values = new Uint16Array(1000).map((_, i) => i)
    const window = robustWindow(image(values, { rescaleSlope: -1 }))
    // modality values -999..0; percentiles -995 and -5
    expect(window.center - 0.5 - (window.width - 1) / 2).toBe(-995)
    expect(window.center - 0.5 + (window.width - 1) / 2).toBe(-5)
  })

  it('inverts MONOCHROME1 after VOI, not before', () => {
    const pixels = new Uint16Array([0, 1000, 2000, 3000, 4095])
    const window = { center: 1500, width: 1000 } // 1000..2000 visible
    const mono2 = renderDisplay(image(pixels), { window })
    const mono1 = renderDisplay(image(pixels, { photometric: 'MONOCHROME1' }), { window })
    expect(Array.from(mono2)).toEqual([0, 0, 255, 255, 255])
    expect(Array.from(mono1)).toEqual([255, 255, 0, 0, 0])
    // inverting the stored values first would have shown a different band (2095..3095)
    expect(Array.from(mono1)).toEqual(Array.from(mono2, (v) => 255 - v))
    // the user's invert toggles it back
    expect(
      Array.from(renderDisplay(image(pixels, { photometric: 'MONOCHROME1' }), { window, invert: true }))
    ).toEqual(Array.from(mono2))
  })

  it('applies the VOI LUT sequence of the file', async () => {
    const decoded = await decodeFile(fixturePath('files/mono2_u12_voilut.explicit.dcm'))
    const display = renderDisplay(decoded)
    for (let i = 0; i < decoded.pixels.length; i += 97) {
      const index = Math.min(1023, Math.max(0, decoded.pixels[i] - 512))
      const lutValue = Math.round(Math.sqrt(index / 1023) * 4095) // the LUT make-fixtures.py wrote
      expect(display[i]).toBe(Math.round((lutValue / 4095) * 255))
    }
  })

  it('renders a MONOCHROME1 fixture dark where its stored values are high', async () => {
    const decoded = await decodeFile(fixturePath('files/mono1_u12.jpegls.dcm'))
    const display = renderDisplay(decoded)
    const brightest = decoded.pixels.indexOf(4095)
    const darkest = decoded.pixels.indexOf(0)
    expect(display[brightest]).toBe(0)
    expect(display[darkest]).toBe(255)
  })
})

describe('resize and letterbox', () => {
  it('shrinks through the display table to the same bytes as shrinking the display image', () => {
    // 301 x 203 signed 12-bit values into a 48-pixel thumbnail: fractional area weights on both axes
    const [width, height] = [301, 203]
    const pixels = Int16Array.from({ length: width * height }, (_, i) => ((i * 7919) % 4096) - 2048)
    const img = image(pixels, { rows: height, columns: width, pixelRepresentation: 1, bitsStored: 12 })
    const { min, lut } = displayLut(img, { window: { center: 100, width: 1500 } })
    const display = renderDisplay(img, { window: { center: 100, width: 1500 } })
    expect(resizeThroughLut(pixels, lut, min, width, height, 48, 32)).toEqual(
      resizeGray(display, width, height, 48, 32)
    )
  })

  it('area-averages when shrinking', () => {
    const src = new Uint8Array([0, 100, 200, 40, 100, 0, 40, 200, 10, 10, 30, 30, 10, 10, 30, 30])
    expect(Array.from(resizeGray(src, 4, 4, 2, 2))).toEqual([50, 120, 10, 30])
  })

  it('keeps a flat image flat at any size, and float input stays float', () => {
    const flat = new Float32Array(30 * 20).fill(7.25)
    for (const [w, h] of [
      [7, 5],
      [61, 41],
      [30, 20]
    ]) {
      const out = resizeGray(flat, 30, 20, w, h)
      expect(out).toBeInstanceOf(Float32Array)
      expect(Math.min(...out)).toBeCloseTo(7.25, 5)
      expect(Math.max(...out)).toBeCloseTo(7.25, 5)
    }
  })

  it('interpolates linearly when enlarging', () => {
    const out = resizeGray(new Uint8Array([0, 100]), 2, 1, 4, 1)
    expect(Array.from(out)).toEqual([0, 25, 75, 100])
  })

  it('letterboxes into a square and maps boxes both ways', () => {
    const src = new Uint8Array(300 * 200).fill(200)
    const lb = letterbox(src, 300, 200, 64, 64)
    expect([lb.width, lb.height, lb.offsetX, lb.offsetY]).toEqual([64, 43, 0, 10])
    expect(lb.pixels[0]).toBe(0) // padding
    expect(lb.pixels[32 * 64 + 32]).toBe(200)
    const box = { x: 30, y: 40, width: 150, height: 100 }
    const inTarget = boxToLetterbox(box, lb)
    expect(inTarget.y).toBeCloseTo(40 * (43 / 200) + 10, 6)
    const back = boxFromLetterbox(inTarget, lb)
    for (const key of ['x', 'y', 'width', 'height'] as const) expect(back[key]).toBeCloseTo(box[key], 6)
  })
})
