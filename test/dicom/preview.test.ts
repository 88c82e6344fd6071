import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { DecodedImage } from '../../common/pixels'
import { jpeg2000Decompositions } from '../../main/core/dicom/codecs/wasm'
import { decodeFile, reductionLevel } from '../../main/core/dicom/decode'
import { pixelStats } from '../../main/core/dicom/pixel-stats'
import { DecodePool, DecodeSupersededError } from '../../main/core/dicom/pool'
import { blockCentres, decodePreview, SAMPLED_PREVIEW_MIN_RATIO } from '../../main/core/dicom/preview'
import { writeDicom, type WriteSyntax } from '../../main/core/dicom/write'
import { chestGeometry, renderChest } from '../../main/core/demo/phantom'
import { toStoredPixels } from '../../main/core/demo/pixels'
import { Random } from '../../main/core/demo/random'
import { fixturePath } from './fixtures'

// A radiograph-like image (the demo phantom with detector noise, 12 bits stored, no window in the
// file), so a wavelet level and sampled blocks are compared on realistic texture, not a smooth ramp.
async function writeRadiograph(
  path: string,
  syntax: WriteSyntax,
  columns: number,
  rows: number
): Promise<void> {
  const random = new Random(11, 'preview-test')
  const density = renderChest(
    chestGeometry(random.fork('geometry')),
    [],
    rows,
    columns,
    random.fork('anatomy')
  )
  const format = {
    bitsAllocated: 16,
    bitsStored: 12,
    photometric: 'MONOCHROME2',
    window: false,
    rescale: null
  } as const
  const stored = toStoredPixels(density, format, random.fork('detector'))
  const bytes = await writeDicom(
    {
      rows,
      columns,
      bitsAllocated: 16,
      bitsStored: 12,
      pixelRepresentation: 0,
      photometric: 'MONOCHROME2',
      pixels: stored.pixels,
      studyInstanceUid: '2.25.1',
      seriesInstanceUid: '2.25.2',
      sopInstanceUid: '2.25.3',
      modality: 'DX'
    },
    syntax
  )
  writeFileSync(path, bytes)
}

/** Exact equality of two large typed arrays (vitest's toEqual walks them element by element, slowly). */
function sameValues(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/**
 * Means of factor × factor blocks whose grid starts at `origin` (coordinates clamped at the edges):
 * what preview pixel i stands for, by the preview's own description of its grid.
 */
function gridMeans(
  pixels: ArrayLike<number>,
  width: number,
  height: number,
  factor: number,
  origin: number
): Float64Array {
  const outWidth = Math.ceil(width / factor)
  const outHeight = Math.ceil(height / factor)
  const out = new Float64Array(outWidth * outHeight)
  const clamp = (v: number, n: number) => Math.min(n - 1, Math.max(0, v))
  for (let oy = 0; oy < outHeight; oy++)
    for (let ox = 0; ox < outWidth; ox++) {
      let sum = 0
      for (let dy = 0; dy < factor; dy++)
        for (let dx = 0; dx < factor; dx++)
          sum +=
            pixels[clamp(oy * factor + origin + dy, height) * width + clamp(ox * factor + origin + dx, width)]
      out[oy * outWidth + ox] = sum / (factor * factor)
    }
  return out
}

function differences(a: ArrayLike<number>, b: ArrayLike<number>): { mean: number; p99: number } {
  const diffs = Float64Array.from({ length: a.length }, (_, i) => Math.abs(a[i] - b[i])).sort()
  return {
    mean: diffs.reduce((sum, d) => sum + d, 0) / diffs.length,
    p99: diffs[Math.floor(0.99 * diffs.length)]
  }
}

// 1500 x 1860: not a power of two either way, so the ceil-rounded last row and column are exercised.
const [COLUMNS, ROWS] = [1500, 1860]
let dir: string
let j2k: string
let jpegLs: string
/** The same J2K file under another path: another image to the pool. */
let other: string
let full: DecodedImage

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cxr-preview-'))
  j2k = join(dir, 'radiograph.j2k.dcm')
  jpegLs = join(dir, 'radiograph.jls.dcm')
  await writeRadiograph(j2k, 'j2k-lossless', COLUMNS, ROWS)
  await writeRadiograph(jpegLs, 'jpeg-ls-lossless', COLUMNS, ROWS)
  other = join(dir, 'other.j2k.dcm')
  copyFileSync(j2k, other)
  full = await decodeFile(j2k)
}, 120_000)
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('JPEG 2000 at a lower resolution level', () => {
  it('reads the decomposition count from the codestream', async () => {
    const { parseWholeFile } = await import('../../main/core/dicom/deflated')
    const { encapsulatedFrame } = await import('../../main/core/dicom/frames')
    const { imageFacts } = await import('../../main/core/dicom/facts')
    const { readFileSync } = await import('node:fs')
    const count = async (path: string) => {
      const { dataSet } = await parseWholeFile(new Uint8Array(readFileSync(path)), path)
      return jpeg2000Decompositions(
        encapsulatedFrame(dataSet, dataSet.elements.x7fe00010, imageFacts(dataSet), path)
      )
    }
    // ours (OpenJPEG's encoder) and gdcmconv's fixture both carry five levels (OpenJPEG's default)
    expect(await count(j2k)).toBe(5)
    expect(await count(fixturePath('files/mono2_u16.j2k.dcm'))).toBeGreaterThanOrEqual(1)
    expect(jpeg2000Decompositions(new Uint8Array([0xff, 0xd8, 0xff, 0xe0]))).toBeNull()
  })

  it('picks the coarsest level that fits the side, not coarser', () => {
    expect(reductionLevel(2048, 2048, 768)).toBe(2) // 512
    expect(reductionLevel(2836, 2336, 768)).toBe(2) // 709
    expect(reductionLevel(4240, 3480, 768)).toBe(3) // 530
    expect(reductionLevel(700, 600, 768)).toBe(0)
  })

  it.each([1, 2, 3])(
    'level %i equals the full decode averaged over 2^level blocks on the preview grid, within the stated tolerance',
    async (level) => {
      const maxSide = Math.ceil(ROWS / 2 ** level)
      const { preview } = await decodePreview(j2k, 'radiograph.j2k.dcm', maxSide)
      const factor = 2 ** level
      expect(preview).toMatchObject({ fileRows: ROWS, fileColumns: COLUMNS, factor, origin: -factor / 2 })
      expect([preview!.image.rows, preview!.image.columns]).toEqual([
        Math.ceil(ROWS / factor),
        Math.ceil(COLUMNS / factor)
      ])
      // The 5/3 wavelet's low-pass band is a smoothed subsample centred on full pixel i·2^level, not a
      // box mean: on this image (0-4095, detector noise sigma about 40) the two differ by under 0.5% of
      // the range on average and under 2% for 99% of pixels, edges of the anatomy included (measured
      // here: mean 18.6 / 12.3 / 10.3 and 99th percentile 61 / 44 / 57 at levels 1 / 2 / 3). On the
      // grid without the half-block origin, level 3 differs by 31 on average and 222 at the 99th
      // percentile: the origin is what keeps the picture still when the full image replaces it.
      const onGrid = differences(
        preview!.image.pixels,
        gridMeans(full.pixels, COLUMNS, ROWS, factor, -factor / 2)
      )
      expect(onGrid.mean).toBeLessThan(0.005 * 4095)
      expect(onGrid.p99).toBeLessThan(0.02 * 4095)
      // a different, cheaper decode: not the full image averaged in disguise
      expect(onGrid.mean).toBeGreaterThan(0)
      if (level === 3) {
        const offGrid = differences(preview!.image.pixels, gridMeans(full.pixels, COLUMNS, ROWS, factor, 0))
        expect(offGrid.mean).toBeGreaterThan(2 * onGrid.mean)
      }
    },
    60_000
  )

  it('makes a resolution-level preview whose window is within a few percent of the full image', async () => {
    const { preview, full: decoded } = await decodePreview(j2k, 'radiograph.j2k.dcm', 512)
    expect(decoded).toBeUndefined() // no full decode was spent on it
    expect(preview?.method).toBe('resolution-level')
    expect(preview?.fullStats).toBe(false)
    expect([preview!.image.rows, preview!.image.columns]).toEqual([465, 375]) // level 2
    expect(preview).toMatchObject({ factor: 4, origin: -2 })
    const fullWindow = pixelStats(full).autoWindow
    expect(Math.abs(preview!.stats.autoWindow.center - fullWindow.center)).toBeLessThan(
      0.03 * fullWindow.width
    )
    expect(Math.abs(preview!.stats.autoWindow.width - fullWindow.width)).toBeLessThan(0.05 * fullWindow.width)
  })
})

describe('other syntaxes: the full decode averaged down', () => {
  it('sends sampled blocks with the full image stats, and keeps the full decode for the next request', async () => {
    // 256-px previews: the 1500 x 1860 image holds over SAMPLED_PREVIEW_MIN_RATIO of them
    const { preview, full: decoded } = await decodePreview(jpegLs, 'radiograph.jls.dcm', 256)
    expect(preview).toMatchObject({ method: 'downsampled', factor: 8, origin: 0 })
    expect(sameValues(decoded!.image.pixels, full.pixels)).toBe(true)
    const factor = Math.ceil(ROWS / 256) // 8
    expect([preview!.image.rows, preview!.image.columns]).toEqual([
      Math.ceil(ROWS / factor),
      Math.ceil(COLUMNS / factor)
    ])
    expect(sameValues(preview!.image.pixels, blockCentres(full.pixels, COLUMNS, ROWS, factor))).toBe(true)
    // it stands for its block (origin 0): far closer to the blocks' true means than to blocks half off
    const onGrid = differences(preview!.image.pixels, gridMeans(full.pixels, COLUMNS, ROWS, factor, 0))
    const offGrid = differences(
      preview!.image.pixels,
      gridMeans(full.pixels, COLUMNS, ROWS, factor, factor / 2)
    )
    expect(onGrid.mean).toBeLessThan(0.01 * 4095)
    expect(offGrid.mean).toBeGreaterThan(1.2 * onGrid.mean)
    expect(preview!.image.pixels).toBeInstanceOf(Uint16Array)
    // the W/L the preview is shown with is exactly the one the full image gets
    expect(preview!.fullStats).toBe(true)
    expect(preview!.stats).toEqual(pixelStats(full))
  })

  it('makes no preview of an image small enough to send whole', async () => {
    const { preview, full: decoded } = await decodePreview(
      fixturePath('files/mono2_u12.jpegls.dcm'),
      'small',
      512
    )
    expect(preview).toBeNull()
    expect(decoded!.image.rows * decoded!.image.columns).toBeLessThan(SAMPLED_PREVIEW_MIN_RATIO * 512 ** 2)
    // nor of a radiograph whose transfer a preview would hardly shorten: 2.8 M pixels, 512-px previews
    expect((await decodePreview(jpegLs, 'radiograph.jls.dcm', 512)).preview).toBeNull()
  })

  it('averages the 2 x 2 centre of each block, partial edge blocks over the pixels they hold', () => {
    const pixels = Uint16Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]) // 5 wide, 3 tall
    expect(Array.from(blockCentres(pixels, 5, 3, 2))).toEqual([
      Math.round((1 + 2 + 6 + 7) / 4),
      Math.round((3 + 4 + 8 + 9) / 4),
      Math.round((5 + 10) / 2),
      Math.round((11 + 12) / 2),
      Math.round((13 + 14) / 2),
      15
    ])
    expect(blockCentres(Int16Array.from([-3, -4, 5, 6]), 2, 2, 2)).toEqual(Int16Array.from([1]))
    // 8 x 8 by 4: the centre of block (0, 0) is pixels (1..2, 1..2)
    const ramp = Uint16Array.from({ length: 64 }, (_, i) => i)
    expect(Array.from(blockCentres(ramp, 8, 8, 4))).toEqual([
      Math.round((9 + 10 + 17 + 18) / 4),
      Math.round((13 + 14 + 21 + 22) / 4),
      Math.round((41 + 42 + 49 + 50) / 4),
      Math.round((45 + 46 + 53 + 54) / 4)
    ])
  })
})

// Runs the bundled worker (out/node/decode-worker.js): `npm test` builds it first.
describe('DecodePool.preview', () => {
  let pool: DecodePool
  beforeAll(() => {
    pool = new DecodePool({ size: 1, cacheBytes: 64 * 1024 * 1024 })
  })
  afterAll(() => pool.close())

  it('hands the full decode it made to the decode that follows, and then makes no preview', async () => {
    const preview = await pool.preview(jpegLs, 'radiograph.jls.dcm', 256)
    expect(preview?.method).toBe('downsampled')
    const { image, stats } = await pool.decodeWithStats(jpegLs)
    expect(sameValues(image.pixels, full.pixels)).toBe(true)
    expect(stats).toEqual(preview!.stats)
    expect(await pool.preview(jpegLs, 'radiograph.jls.dcm', 256)).toBeNull()
  }, 60_000)

  it("stops the running full decode of an image the viewer left, and answers the next image's preview", async () => {
    const before = (await pool.warm()).threadIds
    // the viewer's full request for the J2K image: abandonable, started at once on the idle worker
    const left = pool
      .decodeWithStats(j2k, 'left.j2k.dcm', { priority: 'view', abandonable: true })
      .catch((err: unknown) => err)
    const next = await pool.preview(other, 'next.j2k.dcm', 512)
    const dropped = await left
    expect(dropped).toBeInstanceOf(DecodeSupersededError)
    expect((dropped as Error).message).toBe('left.j2k.dcm: decode superseded by a newer request')
    expect(next?.method).toBe('resolution-level')
    // its worker was stopped and a new one answered
    expect((await pool.warm()).threadIds).not.toEqual(before)
    // a decode nobody marked abandonable runs to the end whatever the viewer asks for meanwhile
    const kept = pool.decodeWithStats(j2k, 'kept.j2k.dcm')
    await pool.preview(fixturePath('files/mono2_u12.jpegls.dcm'), 'small', 256)
    expect(sameValues((await kept).image.pixels, full.pixels)).toBe(true)
  }, 60_000)

  it('drops a queued preview when a newer one is asked for', async () => {
    const first = pool.preview(other, 'first', 512) // runs on the only worker (nothing of it is cached)
    const second = pool.preview(fixturePath('files/mono2_u16.j2k.dcm'), 'second', 512) // queued
    const third = pool.preview(fixturePath('files/mono2_u12.jpegls.dcm'), 'third', 512) // supersedes the second
    await expect(second).rejects.toBeInstanceOf(DecodeSupersededError)
    await expect(second).rejects.toThrow('second: preview superseded')
    expect((await first)?.method).toBe('resolution-level')
    expect(await third).toBeNull()
  }, 60_000)
})
