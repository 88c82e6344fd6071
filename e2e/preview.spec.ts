// First pixels at once, full pixels after: a large radiograph is drawn from a reduced image first
// (a JPEG 2000 wavelet level; blocks sampled from the decode for other syntaxes), then replaced in place
// by full resolution, with the same window, the same rectangle on screen and no blank frame.
import { expect, skipElectronWithoutBinary, test, type Studio } from './fixtures'
import { fitGeometry, nextFrames, readCanvas, type CanvasPixels } from './harness'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Route } from '@playwright/test'
import { writeDicom, type WriteSyntax } from '../main/core/dicom/write'
import { chestGeometry, renderChest } from '../main/core/demo/phantom'
import { toStoredPixels } from '../main/core/demo/pixels'
import { Random } from '../main/core/demo/random'

skipElectronWithoutBinary()

// Other syntaxes get a sampled preview only from about 12 M pixels (core/dicom/preview.ts).
const IMAGES: Array<{ imageId: string; syntax: WriteSyntax; method: string; columns: number; rows: number }> =
  [
    {
      imageId: 'c0ffee000001',
      syntax: 'j2k-lossless',
      method: 'a JPEG 2000 resolution level',
      columns: 2336,
      rows: 2836
    },
    {
      imageId: 'c0ffee000002',
      syntax: 'jpeg-ls-lossless',
      method: 'blocks sampled from the decode',
      columns: 4240,
      rows: 3480
    }
  ]

/**
 * Radiograph-sized, 12 bits, no window in the file: the auto window is the hard case (a JPEG 2000
 * level's statistics are the reduced image's own).
 */
async function writeLargeDataset(root: string): Promise<void> {
  for (const [n, { imageId, syntax, columns: COLUMNS, rows: ROWS }] of IMAGES.entries()) {
    const random = new Random(300 + n, 'preview-e2e')
    const density = renderChest(
      chestGeometry(random.fork('geometry')),
      [],
      ROWS,
      COLUMNS,
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
        rows: ROWS,
        columns: COLUMNS,
        bitsAllocated: 16,
        bitsStored: 12,
        pixelRepresentation: 0,
        photometric: 'MONOCHROME2',
        pixels: stored.pixels,
        studyInstanceUid: `2.25.${7000 + n}`,
        seriesInstanceUid: `2.25.${8000 + n}`,
        sopInstanceUid: `2.25.${9000 + n}`,
        modality: 'DX'
      },
      syntax
    )
    const dir = join(root, 'train', `5a0000000${n}00`, `5b0000000${n}00`)
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, `${imageId}.dcm`), bytes)
  }
}

/** Means of square blocks of the canvas inside `area`, grey level 0-255. */
function blockMeans(
  canvas: CanvasPixels,
  area: { left: number; top: number; width: number; height: number },
  block = 16
) {
  const means: number[] = []
  for (let y0 = Math.ceil(area.top) + 2; y0 + block <= area.top + area.height - 2; y0 += block)
    for (let x0 = Math.ceil(area.left) + 2; x0 + block <= area.left + area.width - 2; x0 += block) {
      let sum = 0
      for (let y = y0; y < y0 + block; y++)
        for (let x = x0; x < x0 + block; x++) sum += canvas.rgba[(y * canvas.width + x) * 4]
      means.push(sum / (block * block))
    }
  return means
}

/** The brightest canvas pixel outside `area` grown by `margin` pixels (the viewer's background is black). */
function brightestOutside(
  canvas: CanvasPixels,
  area: { left: number; top: number; width: number; height: number },
  margin: number
) {
  let brightest = 0
  for (let y = 0; y < canvas.height; y++)
    for (let x = 0; x < canvas.width; x++) {
      const inside =
        x >= area.left - margin &&
        x < area.left + area.width + margin &&
        y >= area.top - margin &&
        y < area.top + area.height + margin
      if (!inside) brightest = Math.max(brightest, canvas.rgba[(y * canvas.width + x) * 4])
    }
  return brightest
}

async function viewerState({ page }: Studio) {
  return {
    resolution: await page.locator('.viewer').getAttribute('data-resolution'),
    window: (await page.getByTestId('corner-wl').innerText()).split('\n')[0],
    zoom: (await page.locator('.corner.br').innerText()).split('\n')[0],
    size: (await page.locator('.corner.tr').innerText()).split('\n')[0]
  }
}

test.describe('first pixels at once', () => {
  let root: string
  test.beforeAll(async () => {
    root = join(mkdtempSync(join(tmpdir(), 'cxr-preview-e2e-')), 'large')
    await writeLargeDataset(root)
  })
  test.afterAll(() => rmSync(join(root, '..'), { recursive: true, force: true }))

  for (const { imageId, syntax, method, columns: COLUMNS, rows: ROWS } of IMAGES) {
    test(`a ${COLUMNS} x ${ROWS} ${syntax} image shows ${method} first, then full resolution in place with the same window`, async ({
      studio
    }) => {
      test.skip(studio.host === 'electron', 'holds the full-resolution response back through the web host')
      test.setTimeout(180_000)
      const { page } = studio
      // The full pixels wait until the preview has been looked at: the test sees both states whatever
      // the machine's speed (no timing involved), and the preview is what the user sees meanwhile.
      let release!: () => void
      const released = new Promise<void>((resolve) => (release = resolve))
      await page.route('**/api/call/imagePixels', async (route: Route) => {
        await released
        await route.continue()
      })
      await studio.openFolder(root)
      await page.getByTestId('search').fill(imageId)
      await page.locator(`[data-testid=image-row][data-image-id="${imageId}"]`).click()

      await expect(page.locator('.viewer')).toHaveAttribute('data-resolution', 'preview', { timeout: 60_000 })
      await nextFrames(page)
      const preview = await viewerState(studio)
      // the corners describe the full image while its preview is drawn
      expect(preview.size).toBe(`${COLUMNS} × ${ROWS} · 12 bit`)
      expect(preview.window).toMatch(/^W \S+ L \S+ · Auto \(no VOI in file\)$/)
      const previewCanvas = await readCanvas(page)
      await studio.snap('1-preview')

      // every animation frame until the full image is drawn: the canvas centre (the spine, bright)
      // never goes black, so there is no blank frame between the preview and the full image
      await page.locator('[data-testid=viewport] canvas').evaluate((canvas) => {
        const g = globalThis as unknown as {
          requestAnimationFrame(callback: () => void): void
          __centreGrey: number[]
        }
        const context = (
          canvas as unknown as {
            getContext(kind: '2d'): {
              getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray }
            }
          }
        ).getContext('2d')
        const { width, height } = canvas as unknown as { width: number; height: number }
        g.__centreGrey = []
        // until two frames after the full image's first render (cxr:image-shown is measured in it)
        let after = 2
        const sample = () => {
          g.__centreGrey.push(context.getImageData(width / 2, height / 2, 1, 1).data[0])
          if (performance.getEntriesByName('cxr:image-shown').length > 0) after--
          if (after > 0) g.requestAnimationFrame(sample)
        }
        g.requestAnimationFrame(sample)
      })
      release()
      await expect(page.locator('.viewer')).toHaveAttribute('data-resolution', 'full', { timeout: 90_000 })
      await expect(page.getByTestId('shown-ms')).toBeVisible()
      await nextFrames(page)
      const full = await viewerState(studio)
      const fullCanvas = await readCanvas(page)
      const centreGrey = await page.evaluate(
        () => (globalThis as unknown as { __centreGrey: number[] }).__centreGrey
      )
      expect(centreGrey.length).toBeGreaterThan(1)
      expect(Math.min(...centreGrey)).toBeGreaterThan(64)
      await studio.snap('2-full')

      // no window/level jump, no zoom change
      expect(full.window).toBe(preview.window)
      expect(full.zoom).toBe(preview.zoom)
      // the page's own record: the preview was drawn first, then the full image, with one window
      const shown = await page.evaluate((id) => {
        const entries = (name: string) =>
          (
            performance.getEntriesByName(name) as unknown as Array<{
              startTime: number
              duration: number
              detail: { imageId: string; window: unknown }
            }>
          )
            .filter((entry) => entry.detail.imageId === id)
            .map((entry) => ({ at: entry.startTime + entry.duration, window: entry.detail.window }))
        return { preview: entries('cxr:preview-shown'), full: entries('cxr:image-shown') }
      }, imageId)
      expect(shown.preview).toHaveLength(1)
      expect(shown.full).toHaveLength(1)
      expect(shown.preview[0].at).toBeLessThan(shown.full[0].at)
      expect(shown.full[0].window).toEqual(shown.preview[0].window)

      // same picture in the same place: block means of the two canvases agree over the image's fitted
      // rectangle, and the preview draws nothing outside it (beyond half a preview pixel)
      const area = fitGeometry(previewCanvas, { columns: COLUMNS, rows: ROWS })
      const rect = { left: area.left, top: area.top, width: COLUMNS * area.scale, height: ROWS * area.scale }
      const before = blockMeans(previewCanvas, rect)
      const after = blockMeans(fullCanvas, rect)
      const diffs = before.map((mean, i) => Math.abs(mean - after[i]))
      const meanDiff = diffs.reduce((a, b) => a + b, 0) / diffs.length
      console.log(
        `${syntax}: preview vs full, 16-px block means differ by ${meanDiff.toFixed(2)} grey levels on average, ${Math.max(...diffs).toFixed(1)} at most`
      )
      expect(meanDiff).toBeLessThan(3)
      expect(Math.max(...diffs)).toBeLessThan(24)
      expect(brightestOutside(previewCanvas, rect, 2)).toBe(0)
      expect(brightestOutside(fullCanvas, rect, 1)).toBe(0)
    })
  }
})
