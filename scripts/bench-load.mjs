#!/usr/bin/env node
// `npm run bench:load`: reliability under load (issue 10, point 5). A measurement, not a test: it
// prints what it measured and PASS/FAIL against the bounds it states, and exits 1 if one failed.
//
// 1. Indexing: `cxr-studio index DIR --json` on LOAD_FILES hard links (Kaggle layout, distinct ids) of
//    the demo's few dozen DICOMs, in a fresh workspace, then again on its cached index: wall time,
//    files/s and the process's peak RSS (VmHWM, polled every 50 ms) against LOAD_INDEX_BOUND_MB
//    (1 GB: DESIGN.md sets no bound for indexing; the Kaggle train set is 6,334 files).
// 2. Browsing: the web host on LOAD_IMAGES + 1 paths of 2k x 2k 16-bit radiographs (hard links of
//    LOAD_SOURCES distinct files; distinct paths, since the decode cache keys by path), Debian
//    Chromium opening the first image and pressing → LOAD_IMAGES times, each waited for on screen.
//    Every 100 images: the host's RSS (its decode threads included), the page's JS heap and
//    Chromium's processes (RSS and PSS). The app's memory is the host's RSS plus Chromium's PSS
//    (the RSS of Chromium's processes added up counts their shared pages once per process; it is
//    printed too); its peak against LOAD_APP_BOUND_MB (DESIGN.md: 1.5 GB) and its growth over the
//    second half (steady: < 10%).
// 3. Jobs on the same host, through the typed HTTP client: LOAD_CYCLES × (startTraining → first
//    step → cancelJob → end) and LOAD_CYCLES × (startPrediction → progress → cancelJob → end); the
//    host's child processes, open file descriptors and RSS before and after, and every worker
//    process seen during the cycles gone at the end. Tensors live only in those workers.
//
// Needs the builds (`npm run build:node && npx electron-vite build`), /usr/bin/chromium and /proc.
// Env: LOAD_FILES=10000 LOAD_IMAGES=1000 LOAD_CYCLES=20 LOAD_PARTS=index,browse,jobs LOAD_SOURCES=32
//      LOAD_INDEX_BOUND_MB=1024 LOAD_APP_BOUND_MB=1536 LOAD_KEEP=1 (keep the temporary folder).
// The machine may be shared: the load average is printed at the start and the end.
import { build } from 'esbuild'
import { spawn } from 'node:child_process'
import { existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { cpus, loadavg, tmpdir, totalmem } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { chromium } from 'playwright-core'
import WebSocket from 'ws'
import { nodeBundleOptions } from './esbuild-node.mjs'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const CLI = join(ROOT, 'bin/cxr-studio.mjs')
const CHROMIUM = '/usr/bin/chromium'

const envInt = (name, fallback) => {
  const value = Number(process.env[name] ?? fallback)
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`)
  return value
}
const FILES = envInt('LOAD_FILES', 10_000)
const IMAGES = envInt('LOAD_IMAGES', 1000)
const CYCLES = envInt('LOAD_CYCLES', 20)
const SOURCES = envInt('LOAD_SOURCES', 32)
const INDEX_BOUND_MB = envInt('LOAD_INDEX_BOUND_MB', 1024)
const APP_BOUND_MB = envInt('LOAD_APP_BOUND_MB', 1536)
const PARTS = new Set((process.env.LOAD_PARTS ?? 'index,browse,jobs').split(','))
const SAMPLE_EVERY = Math.min(100, IMAGES)
/** Open file descriptors of the host may differ from the baseline by this much (pooled sockets). */
const FD_SLACK = 10

/** The smallest model that trains: what the e2e and back-end tests use. */
const TINY = {
  imageSize: 128,
  widthMultiplier: 0.25,
  depthMultiplier: 0.25,
  batchSize: 4,
  epochs: 3,
  valFraction: 0.3,
  backend: 'wasm',
  seed: 3
}

const failures = []
function verdict(ok, what) {
  if (!ok) failures.push(what)
  return ok ? 'PASS' : 'FAIL'
}

const mb = (kb) => (kb / 1024).toFixed(0)
const secs = (ms) => (ms / 1000).toFixed(1)
const pad = (value, width) => String(value).padStart(width)
const sleep = (ms) => new Promise((done) => setTimeout(done, ms))
const loadLine = () =>
  `load average ${loadavg()
    .map((v) => v.toFixed(2))
    .join(' ')} (${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GB)`

// ---------------------------------------------------------------------------------------------
// /proc readers (kB)

function statusOf(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8')
    const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0)
    return { rss: field('VmRSS'), hwm: field('VmHWM'), threads: field('Threads') }
  } catch {
    return null
  }
}

/** Proportional set size: shared pages (libraries, shared memory) split between their users. */
function pssOf(pid) {
  try {
    return Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0)
  } catch {
    return 0
  }
}

const cmdlineOf = (pid) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean)
  } catch {
    return []
  }
}
/** Chromium's child processes rewrite their title: one string with spaces instead of NUL-separated arguments. */
const commandOf = (pid) => cmdlineOf(pid).join(' ')

const alive = (pid) => existsSync(`/proc/${pid}/status`) && statusOf(pid) !== null

function childrenOf(pid) {
  const found = new Set()
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim()
      for (const child of text ? text.split(/\s+/) : []) found.add(Number(child))
    }
  } catch {
    // the process is gone
  }
  return [...found]
}

function fdCount(pid) {
  try {
    return readdirSync(`/proc/${pid}/fd`).length
  } catch {
    return -1
  }
}

/** pid → parent pid, for every process. */
function parents() {
  const map = new Map()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      // the command name may hold spaces and parentheses: the fields after the last ')'
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      map.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]))
    } catch {
      // exited meanwhile
    }
  }
  return map
}

/** Chromium's processes: those naming our profile folder, and everything they started. */
function chromiumProcesses(profileDir) {
  const parentOf = parents()
  const mine = new Set(
    [...parentOf.keys()].filter((pid) => commandOf(pid).includes(`--user-data-dir=${profileDir}`))
  )
  for (let grew = true; grew;) {
    grew = false
    for (const [pid, parent] of parentOf)
      if (!mine.has(pid) && mine.has(parent)) {
        mine.add(pid)
        grew = true
      }
  }
  return [...mine].map((pid) => {
    const type = /--type=(\S+)/.exec(commandOf(pid))?.[1] ?? 'browser'
    return { pid, type, rss: statusOf(pid)?.rss ?? 0, pss: pssOf(pid) }
  })
}

/** Worker processes anywhere on the machine (other sessions may run some too). */
function workersOnMachine() {
  const found = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const script = cmdlineOf(entry).find((arg) => /(train|predict)-worker\.js$/.test(arg))
    if (script) found.push({ pid: Number(entry), script: script.split('/').pop() })
  }
  return found
}

// ---------------------------------------------------------------------------------------------
// Setup

const hex12 = (n) => n.toString(16).padStart(12, '0')

function dicomFiles(dir) {
  const found = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) found.push(...dicomFiles(path))
    else if (entry.name.endsWith('.dcm')) found.push(path)
  }
  return found.sort()
}

/**
 * `count` hard links of `sources` in the Kaggle layout with distinct 12-hex ids, ascending in the
 * order made (so the studies list shows them in that order); every 25th study has two images.
 */
function linkKaggleTree(root, sources, count, idBase) {
  let study = 0
  for (let i = 0; i < count; study++) {
    const dir = join(root, 'train', hex12(idBase + study), hex12(idBase + 0x1000000 + study))
    mkdirSync(dir, { recursive: true })
    for (let k = 0; k < (study % 25 === 0 ? 2 : 1) && i < count; k++, i++)
      linkSync(sources[i % sources.length], join(dir, `${hex12(idBase + 0x2000000 + i)}.dcm`))
  }
}

/** The e2e harness, the bench images and the typed client, bundled as the CLI is bundled. */
async function loadHelpers() {
  // one folder below the repository, as e2e/harness.ts is: its repoRoot (and so its CLI path) holds
  const outfile = join(ROOT, 'bench-results', 'bench-load-helpers.mjs')
  await build({
    ...nodeBundleOptions,
    stdin: {
      contents: [
        "export { CHROMIUM_ARGS, checkBuilt, runCli, startHost } from './e2e/harness'",
        "export { writeBenchDataset } from './e2e/bench/bench-data'",
        "export { createClient } from './common/contract/client'",
        "export { httpTransport } from './common/contract/http'"
      ].join('\n'),
      resolveDir: ROOT,
      loader: 'ts'
    },
    outfile
  })
  return import(pathToFileURL(outfile).href)
}

// ---------------------------------------------------------------------------------------------
// 1. Indexing

/** `cxr-studio ARGS` as a child process: wall time, exit code, stdout, and its peak RSS. */
function runMeasured(args) {
  return new Promise((done) => {
    const started = performance.now()
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    const stdout = []
    let stderr = ''
    let hwm = 0
    child.stdout.on('data', (chunk) => stdout.push(chunk))
    child.stderr.on('data', (chunk) => (stderr = (stderr + chunk).slice(-4000)))
    // VmHWM only grows: the last poll before the exit misses at most 50 ms of growth
    const poll = setInterval(() => (hwm = Math.max(hwm, statusOf(child.pid)?.hwm ?? 0)), 50)
    child.on('close', (code) => {
      clearInterval(poll)
      done({ code, ms: performance.now() - started, hwm, stdout: Buffer.concat(stdout).toString(), stderr })
    })
  })
}

async function indexPart(base, demoRoot) {
  console.log(`\n== 1. Indexing ${FILES} files ==`)
  const sources = dicomFiles(demoRoot)
  const root = join(base, 'index-10k')
  linkKaggleTree(root, sources, FILES, 0x100000000)
  console.log(
    `${root}: ${FILES} hard links of ${sources.length} demo DICOMs (8 transfer syntaxes), Kaggle layout, distinct ids; ` +
      'the files are in the page cache (just made)'
  )
  const workspace = join(base, 'ws-index')
  const bound = INDEX_BOUND_MB * 1024
  const rows = []
  for (const run of ['fresh workspace', 'cached index']) {
    const result = await runMeasured(['--workspace', workspace, 'index', root, '--json'])
    if (result.code !== 0) {
      console.log(`${run}: cxr-studio index failed (${result.code}): ${result.stderr}`)
      verdict(false, `index (${run}) exited ${result.code}`)
      continue
    }
    const index = JSON.parse(result.stdout)
    rows.push({ run, ...result, images: index.images.length, errors: index.errors.length })
  }
  console.log('run              |  wall s |  files/s | images | errors | peak RSS MB')
  for (const row of rows)
    console.log(
      `${row.run.padEnd(16)} | ${pad(secs(row.ms), 7)} | ${pad(Math.round(FILES / (row.ms / 1000)), 8)} | ` +
        `${pad(row.images, 6)} | ${pad(row.errors, 6)} | ${pad(mb(row.hwm), 11)}`
    )
  for (const row of rows) {
    console.log(
      `index (${row.run}): peak RSS ${mb(row.hwm)} MB < ${INDEX_BOUND_MB} MB: ` +
        verdict(row.hwm < bound, `index (${row.run}) peak RSS ${mb(row.hwm)} MB`)
    )
    console.log(
      `index (${row.run}): all ${FILES} files indexed without error: ` +
        verdict(
          row.images === FILES && row.errors === 0,
          `index (${row.run}) ${row.images} images, ${row.errors} errors`
        )
    )
  }
  rmSync(root, { recursive: true, force: true })
}

// ---------------------------------------------------------------------------------------------
// 2. Browsing

async function makeBrowseDataset(base, helpers) {
  const sourceRoot = join(base, 'browse-sources')
  const started = performance.now()
  // the viewer benchmark's mix: mostly uncompressed, as the Kaggle files are, some compressed
  const rle = Math.round(SOURCES / 8)
  const jpegLs = Math.round(SOURCES / 8)
  await helpers.writeBenchDataset(sourceRoot, [
    { syntax: 'explicit-le', count: SOURCES - rle - jpegLs },
    { syntax: 'rle', count: rle },
    { syntax: 'jpeg-ls-lossless', count: jpegLs }
  ])
  const root = join(base, 'browse-2k')
  linkKaggleTree(root, dicomFiles(sourceRoot), IMAGES + 1, 0x500000000)
  console.log(
    `${root}: ${IMAGES + 1} paths, hard links of ${SOURCES} distinct 2048 x 2048 16-bit radiographs ` +
      `(${SOURCES - rle - jpegLs} explicit LE, ${rle} RLE, ${jpegLs} JPEG-LS), made in ${secs(performance.now() - started)} s`
  )
  return root
}

async function browsePart(base, helpers, host) {
  console.log(`\n== 2. Browsing ${IMAGES} images ==`)
  const root = await makeBrowseDataset(base, helpers)
  const hostPid = host.child.pid
  const profileDir = join(base, 'chromium-profile')
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    args: helpers.CHROMIUM_ARGS,
    headless: true,
    viewport: { width: 1440, height: 900 }
  })
  const samples = []
  try {
    const page = context.pages()[0] ?? (await context.newPage())
    const cdp = await context.newCDPSession(page)
    await cdp.send('Performance.enable')
    await page.goto(host.url)
    const opening = performance.now()
    await page.getByTestId('folder-path').fill(root)
    await page.getByTestId('open-folder').click()
    await page.getByTestId('studies-summary').waitFor({ timeout: 300_000 })
    console.log(`opened in the page (index of ${IMAGES + 1} files): ${secs(performance.now() - opening)} s`)
    console.log(
      `Chromium ${context.browser()?.version() ?? ''} (headless, ${CHROMIUM}), profile ${profileDir}`
    )

    const shownEntries = () => page.evaluate(() => performance.getEntriesByName('cxr:image-shown').length)
    /** Resolves with the next image the viewer reports on screen after `seen` reports. */
    const nextShown = (seen) =>
      page.evaluate(
        (seen) =>
          new Promise((done, fail) => {
            const deadline = performance.now() + 60_000
            const poll = () => {
              const entries = performance.getEntriesByName('cxr:image-shown')
              if (entries.length > seen) {
                const entry = entries[seen]
                return done({
                  imageId: entry.detail?.imageId,
                  ms: entry.duration,
                  cached: Boolean(entry.detail?.cached)
                })
              }
              if (performance.now() > deadline) return fail(new Error('no image shown within 60 s'))
              setTimeout(poll, 2)
            }
            poll()
          }),
        seen
      )

    const sample = async (images, block) => {
      const metrics = Object.fromEntries(
        (await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value])
      )
      const browser = chromiumProcesses(profileDir)
      const sum = (processes, field) => processes.reduce((total, p) => total + p[field], 0)
      const row = {
        images,
        hostRss: statusOf(hostPid).rss,
        jsHeap: metrics.JSHeapUsedSize / 1024,
        jsHeapTotal: metrics.JSHeapTotalSize / 1024,
        rendererPss: sum(
          browser.filter((p) => p.type === 'renderer'),
          'pss'
        ),
        browserPss: sum(browser, 'pss'),
        browserRss: sum(browser, 'rss'),
        processes: browser.length,
        medianMs: block.length ? median(block.map((b) => b.ms)) : null,
        maxMs: block.length ? Math.max(...block.map((b) => b.ms)) : null,
        cached: block.filter((b) => b.cached).length,
        shown: block.length
      }
      printSampleRow(row)
      return row
    }

    await page.getByTestId('image-row').first().click()
    const first = await nextShown(0)
    await page.getByTestId('corner-tl').filter({ hasText: first.imageId }).waitFor()
    const browsingStarted = performance.now()
    console.log(`first image ${first.imageId} on screen in ${first.ms.toFixed(0)} ms`)
    console.log(
      `pressing → ${IMAGES} times, each waited for on screen (cxr:image-shown); every ${SAMPLE_EVERY} images:`
    )
    console.log(
      'MB; app = host RSS + Chromium PSS (pages its processes share counted once); RSS sum = every VmRSS added up'
    )
    console.log(
      ' images | host RSS | JS heap (total) | renderer PSS | Chromium PSS (procs) | Chromium RSS sum |  app | RSS sum | ms to pixels: median, max | cached'
    )
    samples.push(await sample(0, [first]))
    const shown = new Set([first.imageId])
    let block = []
    let seen = await shownEntries()
    for (let i = 1; i <= IMAGES; i++) {
      await page.keyboard.press('ArrowRight')
      const image = await nextShown(seen)
      seen++
      shown.add(image.imageId)
      block.push(image)
      if (i % SAMPLE_EVERY === 0 || i === IMAGES) {
        samples.push(await sample(i, block))
        block = []
      }
    }
    const browsingMs = performance.now() - browsingStarted
    const position = await page.getByTestId('position').innerText()
    // garbage or kept? the page's ArrayBuffers (pixels evicted from its cache) go only with a major GC
    await cdp.send('HeapProfiler.enable')
    await cdp.send('HeapProfiler.collectGarbage')
    await sleep(1000)
    const afterGc = await sample('GC', [])
    const breakdown = chromiumProcesses(profileDir)
      .sort((a, b) => b.pss - a.pss)
      .map((p) => `${p.type} ${mb(p.pss)} (${mb(p.rss)})`)
      .join(', ')

    const app = (row) => row.hostRss + row.browserPss
    const rssSum = (row) => row.hostRss + row.browserRss
    const peak = samples.reduce((best, row) => (app(row) > app(best) ? row : best))
    const peakRss = samples.reduce((best, row) => (rssSum(row) > rssSum(best) ? row : best))
    const half = samples.find((row) => row.images >= IMAGES / 2) ?? samples[0]
    const last = samples[samples.length - 1]
    const growth = (from, to) => (((to - from) / from) * 100).toFixed(1)
    console.log(
      `${shown.size} distinct images shown in ${secs(browsingMs)} s (${(IMAGES / (browsingMs / 1000)).toFixed(1)} images/s); ` +
        `viewer position at the end: ${position}`
    )
    console.log(`Chromium processes at the end, PSS (RSS) MB: ${breakdown}`)
    console.log(
      `after a forced GC in the page at the end (row GC): JS heap ${mb(afterGc.jsHeap)} MB, renderer PSS ${mb(afterGc.rendererPss)} MB, ` +
        `Chromium PSS ${mb(afterGc.browserPss)} MB, app ${mb(afterGc.hostRss + afterGc.browserPss)} MB`
    )
    console.log(
      `peak app memory: ${mb(app(peak))} MB at image ${peak.images} (host RSS ${mb(peak.hostRss)} + Chromium PSS ${mb(peak.browserPss)}) ` +
        `< ${APP_BOUND_MB} MB: ` +
        verdict(app(peak) < APP_BOUND_MB * 1024, `browsing: peak host RSS + Chromium PSS ${mb(app(peak))} MB`)
    )
    console.log(
      `  (every VmRSS added up peaks at ${mb(rssSum(peakRss))} MB at image ${peakRss.images}: ` +
        `${rssSum(peakRss) < APP_BOUND_MB * 1024 ? 'also' : 'not'} under the bound, but it counts Chromium's shared pages once per process)`
    )
    console.log(
      `steady after warm-up: app ${mb(app(half))} MB at image ${half.images} → ${mb(app(last))} MB at ${last.images} ` +
        `(${growth(app(half), app(last))}%; host ${growth(half.hostRss, last.hostRss)}%, ` +
        `Chromium ${growth(half.browserPss, last.browserPss)}%, JS heap ${growth(half.jsHeap, last.jsHeap)}%) < 10%: ` +
        verdict(
          Number(growth(app(half), app(last))) < 10,
          `browsing memory grew ${growth(app(half), app(last))}% over the second half`
        )
    )
    console.log(
      `every press showed a new image: ` +
        verdict(shown.size === IMAGES + 1, `${shown.size} distinct images shown for ${IMAGES} presses`)
    )
  } finally {
    await context.close()
  }
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

function printSampleRow(row) {
  const timing = row.medianMs === null ? '' : `${row.medianMs.toFixed(0)}, ${row.maxMs.toFixed(0)}`
  console.log(
    `${pad(row.images, 7)} | ${pad(mb(row.hostRss), 8)} | ${pad(`${mb(row.jsHeap)} (${mb(row.jsHeapTotal)})`, 15)} | ` +
      `${pad(mb(row.rendererPss), 12)} | ${pad(`${mb(row.browserPss)} (${row.processes})`, 20)} | ` +
      `${pad(mb(row.browserRss), 16)} | ${pad(mb(row.hostRss + row.browserPss), 4)} | ` +
      `${pad(mb(row.hostRss + row.browserRss), 7)} | ${pad(timing, 25)} | ${pad(`${row.cached}/${row.shown}`, 6)}`
  )
}

// ---------------------------------------------------------------------------------------------
// 3. Job cycles

function hostSnapshot(pid) {
  const children = childrenOf(pid)
  return {
    children: children.map((child) => ({ pid: child, command: cmdlineOf(child).slice(1, 2).join(' ') })),
    fds: fdCount(pid),
    rss: statusOf(pid)?.rss ?? 0
  }
}

const describeChildren = (snapshot) =>
  snapshot.children.length
    ? snapshot.children.map((c) => `${c.pid} ${c.command.split('/').pop()}`).join(', ')
    : 'none'

/** Job infos and job events from the host's event socket, with waiters. */
function jobWatcher(api) {
  const infos = new Map()
  const events = []
  const waiters = new Set()
  const wake = () => {
    for (const waiter of waiters) waiter()
  }
  api.on('job', (info) => {
    infos.set(info.jobId, info)
    wake()
  })
  api.on('jobEvent', (event) => {
    events.push(event)
    wake()
  })
  /** Resolves with `test()`'s first truthy answer; polls attachJob too, in case an event was missed. */
  const until = (jobId, test, what, timeoutMs) =>
    new Promise((done, fail) => {
      const check = () => {
        const answer = test()
        if (answer) {
          waiters.delete(check)
          clearInterval(poll)
          clearTimeout(timer)
          done(answer)
        }
      }
      const poll = setInterval(() => {
        void api.attachJob({ jobId }).then(
          (history) => {
            infos.set(jobId, history.job)
            for (const event of history.events)
              if (!events.some((e) => e.jobId === event.jobId && e.seq === event.seq)) events.push(event)
            check()
          },
          () => undefined
        )
      }, 1000)
      const timer = setTimeout(() => {
        waiters.delete(check)
        clearInterval(poll)
        fail(new Error(`job ${jobId}: no ${what} within ${timeoutMs / 1000} s`))
      }, timeoutMs)
      waiters.add(check)
      check()
    })
  const ended = (jobId) => {
    const info = infos.get(jobId)
    return info && ['done', 'failed', 'cancelled'].includes(info.state) ? info : null
  }
  return {
    firstEvent: (jobId, name, timeoutMs) =>
      until(
        jobId,
        () => events.find((e) => e.jobId === jobId && e.name === name) ?? ended(jobId),
        `${name} event`,
        timeoutMs
      ),
    progress: (jobId, stage, timeoutMs) =>
      until(
        jobId,
        () => (infos.get(jobId)?.progress?.stage === stage ? infos.get(jobId) : ended(jobId)),
        `${stage} progress`,
        timeoutMs
      ),
    end: (jobId, timeoutMs) => until(jobId, () => ended(jobId), 'end', timeoutMs)
  }
}

async function waitForExit(pid, timeoutMs) {
  const started = performance.now()
  while (alive(pid) && performance.now() - started < timeoutMs) await sleep(10)
  return alive(pid) ? null : performance.now() - started
}

async function jobsPart(base, helpers, host, demoRoot) {
  console.log(`\n== 3. ${CYCLES} start/cancel cycles of training and of prediction ==`)
  const hostPid = host.child.pid
  const workspace = join(base, 'ws-host')
  const runDir = join(workspace, 'runs', 'r')
  const training = performance.now()
  helpers.runCli(
    [
      'train',
      demoRoot,
      '--out',
      runDir,
      '--image-size',
      '128',
      '--width-multiplier',
      '0.25',
      '--depth-multiplier',
      '0.25',
      '--epochs',
      '1',
      '--batch-size',
      '4'
    ],
    workspace
  )
  console.log(
    `tiny run for the predictions (cxr-studio train, 1 epoch, 128 px): ${secs(performance.now() - training)} s`
  )

  const url = new URL(host.url)
  const api = helpers.createClient(
    helpers.httpTransport({ baseUrl: url.origin, token: url.searchParams.get('token'), WebSocket })
  )
  const watch = jobWatcher(api)
  const { datasetId } = await api.openDataset({ path: demoRoot })
  const run = (await api.listRuns()).find((r) => r.path === runDir)
  if (!run) throw new Error(`${runDir} is not listed by listRuns`)
  await sleep(1000) // the event socket is open, the opened dataset settled
  const before = hostSnapshot(hostPid)
  console.log(
    `host ${hostPid} before: children ${describeChildren(before)}; ${before.fds} open fds; RSS ${mb(before.rss)} MB`
  )

  console.log(
    'train: startTraining → first step event → cancelJob → job end (the worker finishes the step under way and ' +
      'writes checkpoints/last); predict: startPrediction (all images, last checkpoint) → first predict progress → cancelJob → end'
  )
  const workerPids = new Map()
  const cycle = async (kind, i, start, reached, script) => {
    const t0 = performance.now()
    const { jobId } = await start()
    const event = await reached(jobId)
    const t1 = performance.now()
    const workers = childrenOf(hostPid).filter((pid) => cmdlineOf(pid).some((arg) => arg.endsWith(script)))
    for (const pid of workers) workerPids.set(pid, `${kind} ${i}`)
    const alreadyEnded = 'state' in event && ['done', 'failed', 'cancelled'].includes(event.state)
    await api.cancelJob({ jobId })
    const job = await watch.end(jobId, 120_000)
    const t2 = performance.now()
    const exits = await Promise.all(workers.map((pid) => waitForExit(pid, 15_000)))
    const exitText = workers.length
      ? workers
          .map((pid, k) =>
            exits[k] === null
              ? `${pid} STILL RUNNING 15 s after the end`
              : `${pid} gone ${exits[k].toFixed(0)} ms after the end`
          )
          .join(', ')
      : 'no worker seen (it had already exited)'
    const rate = event.name === 'step' ? ` (${event.payload.imagesPerSecond.toFixed(1)} img/s)` : ''
    console.log(
      `${kind} ${pad(i, 2)}/${CYCLES}: ${alreadyEnded ? 'ended before the cancel' : `${kind === 'train' ? 'first step' : 'progress'} after ${secs(t1 - t0)} s${rate}`}, ` +
        `cancel → end ${secs(t2 - t1)} s, ${job.state}${job.error ? ` (${job.error})` : ''}; worker ${exitText}`
    )
    return { state: job.state, stillRunning: exits.filter((e) => e === null).length }
  }

  const results = []
  for (let i = 1; i <= CYCLES; i++)
    results.push({
      kind: 'train',
      ...(await cycle(
        'train',
        i,
        () => api.startTraining({ datasetId, settings: TINY, name: `load-${i}` }),
        (jobId) => watch.firstEvent(jobId, 'step', 300_000),
        'train-worker.js'
      ))
    })
  for (let i = 1; i <= CYCLES; i++)
    results.push({
      kind: 'predict',
      ...(await cycle(
        'predict',
        i,
        () => api.startPrediction({ runId: run.runId, datasetId, scope: 'all', checkpoint: 'last' }),
        (jobId) => watch.progress(jobId, 'predict', 300_000),
        'predict-worker.js'
      ))
    })

  // back to the baseline: a worker that answered may take a moment to exit
  const settleStarted = performance.now()
  let after = hostSnapshot(hostPid)
  while (after.children.length > before.children.length && performance.now() - settleStarted < 15_000) {
    await sleep(100)
    after = hostSnapshot(hostPid)
  }
  console.log(
    `host ${hostPid} after:  children ${describeChildren(after)}; ${after.fds} open fds; RSS ${mb(after.rss)} MB`
  )
  const states = (kind) =>
    Object.entries(
      results
        .filter((r) => r.kind === kind)
        .reduce((acc, r) => ({ ...acc, [r.state]: (acc[r.state] ?? 0) + 1 }), {})
    )
      .map(([state, n]) => `${n} ${state}`)
      .join(', ')
  console.log(`training jobs: ${states('train')}; prediction jobs: ${states('predict')}`)
  const sameChildren =
    after.children.length === before.children.length &&
    after.children.every((c) => before.children.some((b) => b.pid === c.pid))
  console.log(
    `child processes back to the baseline (${before.children.length} → ${after.children.length}): ` +
      verdict(sameChildren, `host children ${before.children.length} → ${after.children.length}`)
  )
  console.log(
    `open fds within ±${FD_SLACK} of the baseline (${before.fds} → ${after.fds}, ${after.fds - before.fds >= 0 ? '+' : ''}${after.fds - before.fds}): ` +
      verdict(Math.abs(after.fds - before.fds) <= FD_SLACK, `host fds ${before.fds} → ${after.fds}`)
  )
  console.log(
    `host RSS ${mb(before.rss)} → ${mb(after.rss)} MB (${after.rss - before.rss >= 0 ? '+' : ''}${mb(after.rss - before.rss)} MB)`
  )
  const left = [...workerPids.keys()].filter(alive)
  console.log(
    `worker processes seen: ${workerPids.size}; still running: ${left.length ? left.map((pid) => `${pid} (${workerPids.get(pid)})`).join(', ') : 'none'}: ` +
      verdict(
        left.length === 0 && workerPids.size > 0,
        `${left.length} of ${workerPids.size} workers still running`
      )
  )
  const ownLeft = after.children.filter((c) => /(train|predict)-worker\.js$/.test(c.command))
  console.log(
    `train-worker/predict-worker children of the host: ${ownLeft.length}: ` +
      verdict(ownLeft.length === 0, `${ownLeft.length} worker children of the host remain`)
  )
  const elsewhere = workersOnMachine().filter((w) => !workerPids.has(w.pid))
  console.log(
    `(train/predict workers of other processes on this machine: ${elsewhere.length ? elsewhere.map((w) => `${w.pid} ${w.script}`).join(', ') : 'none'})`
  )
  console.log(
    'tensors: the host loads no tfjs; every tensor lives in a train-worker/predict-worker process, ' +
      `so they go with it: ${workerPids.size - left.length} of ${workerPids.size} workers exited`
  )
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const started = performance.now()
  console.log(`bench:load — ${new Date().toISOString()}`)
  console.log(`start: ${loadLine()}`)
  console.log(
    `sizes: LOAD_FILES=${FILES} LOAD_IMAGES=${IMAGES} LOAD_CYCLES=${CYCLES} LOAD_SOURCES=${SOURCES} LOAD_PARTS=${[...PARTS].join(',')}`
  )
  const helpers = await loadHelpers()
  try {
    helpers.checkBuilt()
  } catch (err) {
    console.error(err.message)
    process.exit(1)
  }
  if (PARTS.has('browse') && !existsSync(CHROMIUM)) {
    console.error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)`)
    process.exit(1)
  }
  const base = mkdtempSync(join(tmpdir(), 'cxr-load-'))
  let host = null
  try {
    const demoRoot = join(base, 'demo')
    helpers.runCli(
      ['demo', demoRoot, '--studies', '30', '--test-studies', '6', '--seed', '5', '--json'],
      join(base, 'ws-demo')
    )
    if (PARTS.has('index')) await indexPart(base, demoRoot)
    if (PARTS.has('browse') || PARTS.has('jobs')) {
      host = await helpers.startHost(join(base, 'ws-host'))
      console.log(`\nweb host: pid ${host.child.pid}, ${host.url.replace(/token=\w+/, 'token=…')}`)
    }
    if (PARTS.has('browse')) await browsePart(base, helpers, host)
    if (PARTS.has('jobs')) await jobsPart(base, helpers, host, demoRoot)
  } catch (err) {
    failures.push(`aborted: ${err.message}`)
    console.log(`\nABORTED: ${err.stack ?? err}`)
  } finally {
    await host?.stop()
    if (process.env.LOAD_KEEP) console.log(`kept ${base}`)
    else rmSync(base, { recursive: true, force: true })
  }
  console.log(`\nend: ${loadLine()}`)
  console.log(`total ${secs(performance.now() - started)} s`)
  console.log(failures.length ? `FAIL (${failures.length}):\n  ${failures.join('\n  ')}` : 'all PASS')
  process.exit(failures.length ? 1 : 0)
}

await main()
