// `--images png16`: the full 16-bit range, windowed like png8, with every clamped value reported.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PNG } from 'pngjs'
import type { DecodedImage } from '../../common/pixels'
import { decodeFile } from '../../main/core/dicom/decode'
import { exportCoco, type CocoDocument } from '../../main/core/export/coco'
import { exportYolo } from '../../main/core/export/yolo'
import { fixturePath } from '../dicom/fixtures'
import { makeDataset } from './fixtures'

let work: string
let root: string
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'cxr-png16-'))
  root = join(work, 'kaggle')
  mkdirSync(root)
})
afterEach(() => rmSync(work, { recursive: true, force: true }))

/** A 12-bit gradient (stored 0..4095) with the given modality LUT and window. */
function gradient12(
  columns: number,
  rows: number,
  overrides: Partial<DecodedImage> & { from?: number; to?: number } = {}
): DecodedImage {
  const { from = 0, to = 4095, ...header } = overrides
  const pixels = new Uint16Array(columns * rows)
  for (let i = 0; i < pixels.length; i++)
    pixels[i] = Math.round(from + ((to - from) * i) / (pixels.length - 1))
  return {
    rows,
    columns,
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
    ...header
  }
}

// imageId -> how the stand-in decoder produces it: real 12-bit fixtures, and synthetic images.
const sources: Record<string, { width: number; height: number; decode: () => Promise<DecodedImage> }> = {
  // unsigned 12-bit, RescaleIntercept -1024 (modality -1024..3071), file window 1024/2048
  u12: { width: 96, height: 80, decode: () => decodeFile(fixturePath('files/mono2_u12.explicit.dcm')) },
  // signed 12-bit (-2048..2047), no window: the 0.5-99.5 percentile window
  s12: { width: 64, height: 48, decode: () => decodeFile(fixturePath('files/mono2_s12.explicit.dcm')) },
  mono1: { width: 80, height: 64, decode: () => decodeFile(fixturePath('files/mono1_u12.explicit.dcm')) },
  // every modality value negative (RescaleIntercept -5000): the old export wrote it all zero
  negative: {
    width: 40,
    height: 30,
    decode: async () => gradient12(40, 30, { rescaleIntercept: -5000 })
  },
  // stored 100..4000 inside the file window 2048/4096 (0..4095): nothing is clamped
  inside: {
    width: 40,
    height: 30,
    decode: async () => gradient12(40, 30, { from: 100, to: 4000, windowCenter: [2048], windowWidth: [4096] })
  }
}

function dataset() {
  return makeDataset(
    root,
    Object.entries(sources).map(([imageId, s]) => ({
      studyId: `study-${imageId}`,
      cls: 'negative' as const,
      images: [{ imageId, width: s.width, height: s.height, boxes: [] }]
    }))
  )
}

const decoder = {
  decode: (absPath: string) => sources[absPath.replace(/^.*\/([^/]+)\.dcm$/, '$1')].decode()
}

/** The grey samples of a PNG as written (16-bit values stay 16-bit). */
function samples(path: string): { bitDepth: number; values: number[] } {
  const bytes = readFileSync(path)
  const png = PNG.sync.read(bytes, { skipRescale: true })
  const values: number[] = []
  for (let i = 0; i < png.width * png.height; i++) values.push(png.data[i * 4])
  return { bitDepth: bytes[24], values }
}

describe('png16 export', () => {
  it('uses the full 16-bit range, so an 8-bit reader (high byte) sees the png8 image, negatives included', async () => {
    const data = dataset()
    const summary16 = await exportCoco(data, {
      outDir: join(work, 'png16'),
      valFraction: 0,
      images: { format: 'png16' },
      decoder
    })
    await exportCoco(data, {
      outDir: join(work, 'png8'),
      valFraction: 0,
      images: { format: 'png8' },
      decoder
    })
    expect(summary16.images).toBe(5)

    for (const imageId of Object.keys(sources)) {
      const png16 = samples(join(work, 'png16', 'images', 'train', `${imageId}.png`))
      const png8 = samples(join(work, 'png8', 'images', 'train', `${imageId}.png`))
      expect(png16.bitDepth, imageId).toBe(16)
      const max = Math.max(...png16.values)
      const min = Math.min(...png16.values)
      expect(max, `${imageId}: brightest value`).toBeGreaterThan(0.9 * 65535)
      expect(min, `${imageId}: darkest value`).toBeLessThan(0.1 * 65535)
      const highBytes = png16.values.map((v) => v >> 8)
      expect(new Set(highBytes).size, `${imageId}: distinct high bytes`).toBeGreaterThan(100)
      // OpenCV/Ultralytics read a 16-bit PNG as 8-bit by keeping the high byte: that is png8, +-1
      const worst = Math.max(...highBytes.map((h, i) => Math.abs(h - png8.values[i])))
      expect(worst, `${imageId}: high byte vs png8`).toBeLessThanOrEqual(1)
    }

    const doc = JSON.parse(readFileSync(join(work, 'png16', 'train.json'), 'utf8')) as CocoDocument
    expect(doc.info.pixels).toMatch(/same VOI as png8.*0\.\.65535/)
    expect(summary16.pixels).toBe(doc.info.pixels)
  })

  it('names every image whose values were clamped by the window, with the counts, and no other', async () => {
    const summary = await exportCoco(dataset(), {
      outDir: join(work, 'png16'),
      valFraction: 0,
      images: { format: 'png16' },
      decoder
    })
    const byImage = new Map(
      summary.warnings.map((w) => [w.path.replace(/^.*\/([^/]+)\.dcm$/, '$1'), w.reason])
    )
    expect(summary.clampedImages).toBe(summary.warnings.length)
    expect(byImage.has('inside')).toBe(false)

    // u12: modality = stored - 1024; the file window 1024/2048 keeps 0..2047
    const u12 = await sources.u12.decode()
    const modality = Array.from(u12.pixels, (v) => v - 1024)
    const below = modality.filter((m) => m < 0).length
    const above = modality.filter((m) => m > 2047).length
    expect(below).toBeGreaterThan(0)
    expect(above).toBeGreaterThan(0)
    expect(byImage.get('u12')).toBe(
      `png16: ${below} pixel(s) (${pct(below, modality.length)}) below and ${above} (${pct(above, modality.length)}) above ` +
        "the file's window (center 1024, width 2048) were clamped to the ends of 0..65535"
    )
    expect(byImage.get('s12')).toMatch(/above the 0\.5-99\.5 percentile window/)
  })

  it('says in dataset.yaml how YOLO images were made', async () => {
    const out = join(work, 'yolo')
    const summary = await exportYolo(dataset(), {
      outDir: out,
      valFraction: 0,
      images: { format: 'png16' },
      decoder
    })
    expect(readFileSync(join(out, 'dataset.yaml'), 'utf8')).toContain(`# pixels: ${summary.pixels}\n`)
  })
})

function pct(n: number, total: number): string {
  return `${Number(((100 * n) / total).toPrecision(2))}%`
}
