// First pixels and full resolution in the viewer, cold (never decoded in this session), per size and
// transfer syntax, on radiograph-like images (scripts/bench-images.mjs: real sizes, 12-16 bits,
// phantom + texture + detector noise, compressed by dcmtk/gdcm), against the native tool's decode of
// the same file (whole process). Then the same images reopened from the page's cache, and, for
// comparison, cold opens with the preview switched off (its request refused).
//
//   npm run build:node && npx electron-vite build && npx playwright test -c e2e/bench preview
//   CXR_BENCH_SAMPLES=3 CXR_BENCH_SIZES=2048,2336x2836 CXR_BENCH_SYNTAXES=j2k,jpegls ...
//
// Neighbour prefetches and thumbnails are refused during the run, so every cold open is cold and
// nothing else decodes meanwhile; other processes on the machine still do (load average per row).
import { chromium, test, type Page, type Route } from '@playwright/test'
import { execFileSync } from 'node:child_process'
import { linkSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { CHROMIUM_ARGS, checkBuilt, repoRoot, startHost } from '../harness'

interface BenchImagesModule {
  BENCH_SIZES: Record<string, { columns: number; rows: number; bitsStored: number }>
  BENCH_SYNTAXES: Record<string, { decoder: string[] }>
  benchImages(options: { sizes?: string[]; syntaxes?: string[] }): Promise<{
    files: Record<string, Record<string, string>>
    ratios: Record<string, Record<string, number>>
  }>
}

const SAMPLES = Number(process.env.CXR_BENCH_SAMPLES ?? 3)
const median = (values: number[]) => {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b)
  if (!sorted.length) return NaN
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}
const round = (v: number) => (Number.isFinite(v) ? Math.round(v) : NaN)

interface Shown {
  previewMs: number | null
  fullMs: number
  cached: boolean
}

/** Hash navigation to the image, timed from just before it to the preview's and the full image's first renders. */
async function showImage(
  page: Page,
  datasetId: string,
  imageId: string,
  until: 'preview' | 'full' = 'full'
): Promise<Shown> {
  return page.evaluate(
    ({ datasetId, imageId, until }) =>
      new Promise<Shown>((resolve) => {
        type Entry = { startTime: number; duration: number; detail?: { imageId: string; cached?: boolean } }
        const seen = (name: string) => performance.getEntriesByName(name).length
        const seenPreview = seen('cxr:preview-shown')
        const seenFull = seen('cxr:image-shown')
        const started = performance.now()
        const mine = (name: string, from: number) =>
          (performance.getEntriesByName(name) as unknown as Entry[])
            .slice(from)
            .find((entry) => entry.detail?.imageId === imageId)
        const poll = () => {
          const full = mine('cxr:image-shown', seenFull)
          const preview = mine('cxr:preview-shown', seenPreview)
          if (!full && !(until === 'preview' && preview)) return void setTimeout(poll, 2)
          resolve({
            previewMs: preview ? preview.startTime + preview.duration - started : null,
            fullMs: full ? full.startTime + full.duration - started : NaN,
            cached: Boolean(full?.detail?.cached)
          })
        }
        ;(globalThis as unknown as { location: { hash: string } }).location.hash =
          `#/d/${datasetId}/view/${imageId}`
        poll()
      }),
    { datasetId, imageId, until }
  )
}

/** The native tool's whole-process decode of `file`, median of `runs` (ms). */
function nativeDecodeMs(decoder: string[], file: string, dir: string, runs = 3): number {
  const out = join(dir, 'native-out.dcm')
  const times: number[] = []
  for (let i = 0; i < runs; i++) {
    const start = performance.now()
    execFileSync(decoder[0], [...decoder.slice(1), file, out], { stdio: 'ignore' })
    times.push(performance.now() - start)
    rmSync(out, { force: true })
  }
  return median(times)
}

test('viewer: first pixels and full resolution, cold, per size and syntax, vs the native decoders', async () => {
  // every size and syntax, three samples each and the native tools: 7-15 min on a busy 2-core machine
  test.setTimeout(3_600_000)
  checkBuilt()
  const { benchImages, BENCH_SIZES, BENCH_SYNTAXES } = (await import(
    pathToFileURL(join(repoRoot, 'scripts', 'bench-images.mjs')).href
  )) as BenchImagesModule
  const sizes = process.env.CXR_BENCH_SIZES?.split(',') ?? Object.keys(BENCH_SIZES)
  const syntaxes = process.env.CXR_BENCH_SYNTAXES?.split(',') ?? Object.keys(BENCH_SYNTAXES)
  const { files, ratios } = await benchImages({ sizes, syntaxes })

  // Hard links under a Kaggle-like layout: each cold open is of a path the app has never decoded.
  const base = mkdtempSync(join(tmpdir(), 'cxr-bench-preview-'))
  const root = join(base, 'bench-preview')
  const plan: Array<{
    size: string
    syntax: string
    file: string
    ids: { preview: string[]; off: string[]; flip: string[] }
  }> = []
  let n = 0
  const link = (file: string) => {
    const id = (0xd00000000000 + n++).toString(16)
    const dir = join(root, 'train', `e${id.slice(1)}`, `f${id.slice(1)}`)
    mkdirSync(dir, { recursive: true })
    linkSync(file, join(dir, `${id}.dcm`))
    return id
  }
  for (const size of sizes)
    for (const syntax of syntaxes) {
      const file = files[size]?.[syntax]
      if (!file) continue
      const ids = {
        preview: Array.from({ length: SAMPLES }, () => link(file)),
        off: Array.from({ length: SAMPLES }, () => link(file)),
        // JPEG 2000 only: pairs for leaving an image while its full decode runs
        flip: syntax === 'j2k' ? Array.from({ length: 2 * SAMPLES }, () => link(file)) : []
      }
      plan.push({ size, syntax, file, ids })
    }

  const host = await startHost(join(base, 'workspace'))
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS })
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } })
  let previewOff = false
  await page.route('**/api/call/imagePixels', (route: Route) =>
    route.request().postData()?.includes('"prefetch":true') ? route.abort() : route.continue()
  )
  await page.route('**/api/call/thumbnail', (route: Route) => route.abort())
  await page.route('**/api/call/imagePreview', (route: Route) =>
    previewOff ? route.abort() : route.continue()
  )
  const rows: Array<Record<string, string | number | null>> = []
  try {
    await page.goto(host.url)
    await page.getByTestId('folder-path').fill(root)
    await page.getByTestId('open-folder').click()
    await page.getByTestId('studies-summary').waitFor({ timeout: 120_000 })
    const datasetId = /#\/d\/([0-9a-f]{16})\//.exec(page.url())![1]

    for (const { size, syntax, file, ids } of plan) {
      const previews: number[] = []
      const fulls: number[] = []
      const cached: number[] = []
      const withoutPreview: number[] = []
      for (const [k, id] of ids.preview.entries()) {
        // interleaved with the same image shown without its preview, so load swings hit both alike
        previewOff = true
        withoutPreview.push((await showImage(page, datasetId, ids.off[k])).fullMs)
        previewOff = false
        await page.waitForTimeout(200)
        const shown = await showImage(page, datasetId, id)
        previews.push(shown.previewMs ?? shown.fullMs) // no preview: the full image is the first pixels
        fulls.push(shown.fullMs)
        await page.waitForTimeout(200)
        if (k === 0) continue
        // back to the previous sample: from the page's cache (the first sample has none)
        const again = await showImage(page, datasetId, ids.preview[k - 1])
        if (again.cached) cached.push(again.fullMs)
        await page.waitForTimeout(100)
      }
      // Leave image A as soon as its preview is on screen (its full decode then runs) for image B:
      // B's first pixels, the running decode of A being stopped (DecodePool: abandonable decodes).
      const flips: number[] = []
      for (let k = 0; k + 1 < ids.flip.length; k += 2) {
        await showImage(page, datasetId, ids.flip[k], 'preview')
        await page.waitForTimeout(50) // A's full request reaches the worker
        const shown = await showImage(page, datasetId, ids.flip[k + 1])
        flips.push(shown.previewMs ?? shown.fullMs)
        await page.waitForTimeout(200)
      }
      const native = nativeDecodeMs(BENCH_SYNTAXES[syntax].decoder, file, base)
      const full = median(fulls)
      const row = {
        size,
        syntax,
        ratio: Math.round(ratios[size][syntax] * 100) / 100,
        firstPixelsMs: round(median(previews)),
        fullMs: round(full),
        fullWithoutPreviewMs: round(median(withoutPreview)),
        cachedMs: round(median(cached)),
        ...(flips.length ? { nextAfterLeavingMs: round(median(flips)) } : {}),
        nativeMs: round(native),
        fullOverNative: Math.round((full / native) * 100) / 100,
        load1: Math.round(loadavg()[0] * 100) / 100
      }
      rows.push(row)
      console.log(JSON.stringify(row))
    }
  } finally {
    await browser.close()
    await host.stop()
    rmSync(base, { recursive: true, force: true })
  }

  const header = [
    'size',
    'syntax',
    'ratio',
    'first px',
    'full',
    'full (no preview)',
    'cached',
    'next after leaving',
    'native',
    'full/native',
    'load1'
  ]
  const table = [
    header,
    ...rows.map((r) => [
      r.size,
      r.syntax,
      `${r.ratio}x`,
      `${r.firstPixelsMs} ms`,
      `${r.fullMs} ms`,
      `${r.fullWithoutPreviewMs} ms`,
      `${r.cachedMs} ms`,
      r.nextAfterLeavingMs === undefined ? '' : `${r.nextAfterLeavingMs} ms`,
      `${r.nativeMs} ms`,
      `${r.fullOverNative}x`,
      `${r.load1}`
    ])
  ]
  const widths = header.map((_, c) => Math.max(...table.map((line) => String(line[c]).length)))
  const text = table
    .map((line) => line.map((cell, c) => String(cell).padEnd(widths[c])).join('  '))
    .join('\n')
  const result = {
    machine: {
      cpus: cpus().length,
      cpu: cpus()[0]?.model,
      browser: `Chromium ${browser.version()} (headless, --disable-gpu)`
    },
    samples: SAMPLES,
    note:
      'cold = a path never decoded in this session (hard links); first px = selection to the preview (or the image) on screen; ' +
      'full = selection to full resolution on screen; cached = reopened from the page cache; nextAfterLeavingMs (j2k) = ' +
      "first pixels of an image selected while the previous one's full decode runs; native = whole-process decode " +
      '(dcmdjpeg, dcmdjpls, dcmdrle, gdcmconv --raw, dcmconv +te), median of 3; load1 = 1-minute load average after the row',
    rows
  }
  mkdirSync(join(repoRoot, 'bench-results'), { recursive: true })
  writeFileSync(
    join(repoRoot, 'bench-results', 'viewer-preview.json'),
    JSON.stringify(result, null, 2) + '\n'
  )
  console.log(`\n${text}\n`)
})
