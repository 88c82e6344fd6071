// Selecting an image → its pixels on screen (cold: never decoded; next: prefetched; revisit: in the
// viewer's cache), and frame times while dragging W/L, on 2k × 2k 16-bit images in Debian Chromium.
import { chromium, test, type Page } from '@playwright/test'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CHROMIUM_ARGS, checkBuilt, repoRoot, startHost } from '../harness'
import { writeBenchDataset, type BenchImage } from './bench-data'

const PLAN = [
  { syntax: 'explicit-le' as const, count: 24 },
  { syntax: 'rle' as const, count: 4 },
  { syntax: 'jpeg-ls-lossless' as const, count: 4 }
]

interface Stats {
  n: number
  median: number
  p95: number
  min: number
  max: number
}

function stats(values: number[]): Stats {
  const sorted = [...values].sort((a, b) => a - b)
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
  const round = (v: number) => Math.round(v * 10) / 10
  return {
    n: values.length,
    median: round(at(0.5)),
    p95: round(at(0.95)),
    min: round(sorted[0]),
    max: round(sorted[sorted.length - 1])
  }
}

/** Hash navigation to the viewer, timed from just before the change to the image's first render. */
async function showImage(
  page: Page,
  datasetId: string,
  imageId: string
): Promise<{ ms: number; cached: boolean; requestMs: number | null; waitMs: number | null }> {
  return page.evaluate(
    ({ datasetId, imageId }) =>
      new Promise<{ ms: number; cached: boolean; requestMs: number | null; waitMs: number | null }>(
        (resolve) => {
          const perf = globalThis.performance
          const seen = perf.getEntriesByName('cxr:image-shown').length
          const started = perf.now()
          // The pixel request of this image, if it went to the host (resource timing of the POST).
          const request = () => {
            const entries = perf.getEntriesByType('resource') as unknown as Array<{
              name: string
              startTime: number
              duration: number
              requestStart: number
              responseStart: number
            }>
            const mine = entries
              .filter((e) => e.name.endsWith('/api/call/imagePixels') && e.startTime >= started)
              .at(0)
            return mine
              ? { requestMs: mine.duration, waitMs: mine.responseStart - mine.requestStart }
              : { requestMs: null, waitMs: null }
          }
          const poll = () => {
            const entries = perf.getEntriesByName('cxr:image-shown') as unknown as Array<{
              startTime: number
              duration: number
              detail?: { imageId: string; cached: boolean }
            }>
            const mine = entries.slice(seen).find((entry) => entry.detail?.imageId === imageId)
            if (mine)
              return resolve({
                ms: mine.startTime + mine.duration - started,
                cached: Boolean(mine.detail?.cached),
                ...request()
              })
            setTimeout(poll, 2)
          }
          ;(globalThis as unknown as { location: { hash: string } }).location.hash =
            `#/d/${datasetId}/view/${imageId}`
          poll()
        }
      ),
    { datasetId, imageId }
  )
}

test('viewer: time to pixels and W/L frame rate on 2k x 2k 16-bit images', async () => {
  checkBuilt()
  const base = mkdtempSync(join(tmpdir(), 'cxr-bench-'))
  const root = join(base, 'bench-2k')
  const images = await writeBenchDataset(root, PLAN)
  const host = await startHost(join(base, 'workspace'))
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS })
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } })
  try {
    await page.goto(host.url)
    await page.getByTestId('folder-path').fill(root)
    await page.getByTestId('open-folder').click()
    await page.getByTestId('studies-summary').waitFor()
    const datasetId = /#\/d\/([0-9a-f]{16})\//.exec(page.url())![1]
    // The list's order (by study, then image): the ids were generated ascending, study and image alike.
    const order = images.map((image) => image.imageId).sort()
    const syntaxOf = new Map(images.map((image: BenchImage) => [image.imageId, image.syntax]))

    const cold: Record<string, number[]> = {}
    // Every cold sample in the order taken (the first pays whatever start-up is left), for spread across runs.
    const coldSamples: Array<{ imageId: string; syntax: string; ms: number; serverWaitMs: number | null }> =
      []
    // Where cold time goes: the pixel request (server wait + transfer), then building and drawing.
    const coldRequest: number[] = []
    const coldServer: number[] = []
    const coldAfterResponse: number[] = []
    const next: number[] = []
    const revisit: number[] = []
    // Cold images are four apart in the list, beyond the neighbours the viewer prefetches.
    for (let i = 0; i < order.length; i += 4) {
      const shown = await showImage(page, datasetId, order[i])
      ;(cold[syntaxOf.get(order[i])!] ??= []).push(shown.ms)
      coldSamples.push({
        imageId: order[i],
        syntax: syntaxOf.get(order[i])!,
        ms: Math.round(shown.ms * 10) / 10,
        serverWaitMs: shown.waitMs === null ? null : Math.round(shown.waitMs * 10) / 10
      })
      if (shown.requestMs !== null) {
        coldRequest.push(shown.requestMs)
        coldServer.push(shown.waitMs!)
        coldAfterResponse.push(shown.ms - shown.requestMs)
      }
      await page.waitForTimeout(1500) // the user looks; the neighbours are prefetched meanwhile
      if (i + 1 < order.length) {
        const neighbour = await showImage(page, datasetId, order[i + 1])
        if (neighbour.cached) next.push(neighbour.ms)
        await page.waitForTimeout(500)
      }
    }
    for (let i = 0; i < order.length; i += 4) revisit.push((await showImage(page, datasetId, order[i])).ms)

    // W/L drag on an uncompressed 2k image: record every render while the mouse moves.
    await showImage(page, datasetId, order[0])
    await page.getByTestId('viewport').evaluate((element) => {
      const renders: Array<{ t: number; renderMs: number }> = []
      ;(globalThis as unknown as { __renders: typeof renders }).__renders = renders
      // The page's own frame rate, the ceiling for any renderer here.
      const frames: number[] = []
      ;(globalThis as unknown as { __frames: number[] }).__frames = frames
      const raf = (globalThis as unknown as { requestAnimationFrame(callback: (t: number) => void): void })
        .requestAnimationFrame
      const tick = (t: number) => {
        frames.push(t)
        raf(tick)
      }
      raf(tick)
      const target = element as unknown as {
        addEventListener(
          type: string,
          listener: (event: { detail: { renderTimeInMs: number } }) => void
        ): void
      }
      target.addEventListener('cornerstoneimagerendered', (event) =>
        renders.push({ t: performance.now(), renderMs: event.detail.renderTimeInMs })
      )
    })
    const box = (await page.getByTestId('viewport').boundingBox())!
    const cx = box.x + box.width / 2
    const cy = box.y + box.height / 2
    await page.mouse.move(cx, cy)
    await page.mouse.down()
    // As fast as the browser takes them; Chromium aligns pointer moves to animation frames anyway.
    const dragStart = Date.now()
    let moves = 0
    for (; Date.now() - dragStart < 3000; moves++)
      await page.mouse.move(cx + 150 * Math.sin(moves / 15), cy + 80 * Math.cos(moves / 20))
    await page.mouse.up()
    const renders = await page.evaluate(
      () => (globalThis as unknown as { __renders: Array<{ t: number; renderMs: number }> }).__renders
    )
    const frames = await page.evaluate(() => (globalThis as unknown as { __frames: number[] }).__frames)
    const framesDuringDrag = frames.filter(
      (t) => t >= renders[0].t && t <= renders[renders.length - 1].t
    ).length
    const intervals = renders.slice(1).map((r, i) => r.t - renders[i].t)
    const dragSeconds = (renders[renders.length - 1].t - renders[0].t) / 1000

    // The same drag driven inside the page, one move per animation frame: what the viewer sustains
    // when input is not the bottleneck (CDP-injected mouse moves above arrive irregularly).
    const perFrame = await page.getByTestId('viewport').evaluate(
      (element, { cx, cy }) =>
        new Promise<{ frames: number; renders: number; seconds: number; renderMs: number[] }>((resolve) => {
          const g = globalThis as unknown as {
            requestAnimationFrame(callback: (t: number) => void): void
            PointerEvent: new (type: string, init: object) => object
            __renders: Array<{ t: number; renderMs: number }>
          }
          const target = element as unknown as { dispatchEvent(event: object): void }
          const fire = (type: string, x: number, y: number) =>
            target.dispatchEvent(
              new g.PointerEvent(type, {
                bubbles: true,
                button: 0,
                buttons: 1,
                pointerId: 1,
                pointerType: 'mouse',
                clientX: x,
                clientY: y
              })
            )
          const before = g.__renders.length
          fire('pointerdown', cx, cy)
          let frames = 0
          const start = performance.now()
          const step = (t: number) => {
            frames++
            if (t - start < 3000) {
              fire('pointermove', cx + 150 * Math.sin(frames / 15), cy + 80 * Math.cos(frames / 20))
              g.requestAnimationFrame(step)
              return
            }
            fire('pointerup', cx, cy)
            const renders = g.__renders.slice(before)
            resolve({
              frames,
              renders: renders.length,
              seconds: (t - start) / 1000,
              renderMs: renders.map((r) => r.renderMs)
            })
          }
          g.requestAnimationFrame(step)
        }),
      { cx: box.width / 2 + box.x, cy: box.height / 2 + box.y }
    )

    // The studies list at the real dataset's size: 6,334 rows (the bench images repeated, so their
    // thumbnails are real), scrolled by the page itself as fast as it paints.
    await page.route('**/api/call/listImages', async (route) => {
      const response = await route.fetch()
      const rows = ((await response.json()) as { value: Array<Record<string, unknown>> }).value
      const many = Array.from({ length: 6334 }, (_, i) => ({
        ...rows[i % rows.length],
        path: `${rows[i % rows.length].path}#${i}`
      }))
      await route.fulfill({ response, json: { ok: true, value: many } })
    })
    await page.evaluate(
      () => ((globalThis as unknown as { location: { hash: string } }).location.hash = '#/')
    )
    await page.getByTestId('folder-path').fill(root)
    await page.getByTestId('open-folder').click()
    await page.getByTestId('shown-count').filter({ hasText: '6334 of 6334' }).waitFor({ timeout: 60_000 })
    const scroll = await page.locator('.virtual').evaluate(
      (element) =>
        new Promise<{ frames: number[]; rowsInDom: number; scrolledTo: number }>((resolve) => {
          const list = element as unknown as {
            scrollTop: number
            scrollHeight: number
            querySelectorAll(s: string): { length: number }
          }
          const raf = (
            globalThis as unknown as { requestAnimationFrame(callback: (t: number) => void): void }
          ).requestAnimationFrame
          const frames: number[] = []
          let rowsInDom = 0
          const step = (t: number) => {
            frames.push(t)
            list.scrollTop += 240 // about four rows per frame, a brisk wheel
            rowsInDom = Math.max(rowsInDom, list.querySelectorAll('[data-testid=image-row]').length)
            if (t - frames[0] < 4000) raf(step)
            else resolve({ frames, rowsInDom, scrolledTo: list.scrollTop })
          }
          raf(step)
        })
    )
    const scrollIntervals = scroll.frames.slice(1).map((t, i) => t - scroll.frames[i])
    const scrollSeconds = (scroll.frames[scroll.frames.length - 1] - scroll.frames[0]) / 1000

    const result = {
      machine: {
        cpus: (await import('node:os')).cpus().length,
        browser: `Chromium ${browser.version()} (headless, --disable-gpu)`
      },
      image: '2048 x 2048, 16 bits stored, MONOCHROME2',
      coldMs: Object.fromEntries(Object.entries(cold).map(([syntax, values]) => [syntax, stats(values)])),
      coldBreakdownMs: {
        pixelRequest: stats(coldRequest),
        serverWaitInRequest: stats(coldServer),
        selectionToPixelsMinusRequest: stats(coldAfterResponse)
      },
      nextPrefetchedMs: stats(next),
      revisitCachedMs: stats(revisit),
      wlDrag: {
        mouseMovesPerSecond: Math.round(moves / ((Date.now() - dragStart) / 1000)),
        renders: renders.length,
        framesPerSecond: Math.round(((renders.length - 1) / dragSeconds) * 10) / 10,
        pageAnimationFramesPerSecond: Math.round((framesDuringDrag / dragSeconds) * 10) / 10,
        frameIntervalMs: stats(intervals),
        renderMs: stats(renders.map((r) => r.renderMs))
      },
      studiesList6334Rows: {
        framesPerSecond: Math.round(((scroll.frames.length - 1) / scrollSeconds) * 10) / 10,
        frameIntervalMs: stats(scrollIntervals),
        maxRowsInDom: scroll.rowsInDom,
        pixelsScrolled: scroll.scrolledTo
      },
      wlDragOneMovePerFrame: {
        framesPerSecond: Math.round((perFrame.frames / perFrame.seconds) * 10) / 10,
        rendersPerSecond: Math.round((perFrame.renders / perFrame.seconds) * 10) / 10,
        renderMs: stats(perFrame.renderMs)
      },
      samples: {
        cold: coldSamples,
        nextPrefetchedMs: next.map((ms) => Math.round(ms * 10) / 10),
        revisitCachedMs: revisit.map((ms) => Math.round(ms * 10) / 10)
      }
    }
    mkdirSync(join(repoRoot, 'bench-results'), { recursive: true })
    writeFileSync(join(repoRoot, 'bench-results', 'viewer.json'), JSON.stringify(result, null, 2) + '\n')
    // Each run also kept under its own name when asked (CXR_BENCH_RUNS_DIR), to compare spreads across runs.
    if (process.env.CXR_BENCH_RUNS_DIR) {
      mkdirSync(process.env.CXR_BENCH_RUNS_DIR, { recursive: true })
      writeFileSync(
        join(process.env.CXR_BENCH_RUNS_DIR, `viewer-${new Date().toISOString().replace(/[:.]/g, '-')}.json`),
        JSON.stringify(result, null, 2) + '\n'
      )
    }
    console.log(JSON.stringify(result, null, 2))
  } finally {
    await browser.close()
    await host.stop()
    rmSync(base, { recursive: true, force: true })
  }
})
