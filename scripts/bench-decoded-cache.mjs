#!/usr/bin/env node
// Decoded-pixel cache benchmark: cold vs cached opens of radiograph-like images, and why entries are
// stored uncompressed.
//
//   npm run bench:cache [-- --runs 3 --sizes 2048,2336x2836,4240x3480 --syntaxes explicit,jpegls,j2k]
//
// Images: scripts/bench-images.mjs (chest phantom + texture + correlated noise, real sizes and bit
// depths; written once in tmp and reused). Prints, with the load average at each figure (other
// work on the machine slows everything; the figures are medians of --runs):
//   format:  per size, bytes and read time of the entry as stored (raw + CRC-32) against lossless
//            alternatives (zlib level 1 on byte-shuffled planes, with and without a left-neighbour delta)
//   in-process: decodeCached() cold (decode; the entry write after it, timed apart) and cached (read,
//            checksum, typed view) per size and syntax, and the entry's size on disk
//   route:   the page's call (POST /api/call/imagePixels on `cxr-studio serve`, body read whole, from a
//            page in Debian's Chromium when installed, else Node's fetch) for a
//            first open (empty workspace) and for an open in a new host process whose workspace cache
//            holds the image (a later session: nothing in memory); a small image is opened first in
//            each session so that worker start-up is not counted
import { spawn } from 'node:child_process'
import {
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync
} from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { deflateSync, inflateSync } from 'node:zlib'
import { build } from 'esbuild'
import { benchImages, BENCH_SIZES } from './bench-images.mjs'
import { nodeBundleOptions } from './esbuild-node.mjs'

const ROOT = join(import.meta.dirname, '..')
const CLI = join(ROOT, 'bin', 'cxr-studio.mjs')
const CHROMIUM = '/usr/bin/chromium'
// as e2e/harness.ts launches it
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run'
]
const args = process.argv.slice(2)
const option = (name, fallback) => {
  const at = args.indexOf(`--${name}`)
  return at >= 0 ? args[at + 1] : fallback
}
const RUNS = Number(option('runs', 3))
const SIZES = option('sizes', Object.keys(BENCH_SIZES).join(',')).split(',')
const SYNTAXES = option('syntaxes', 'explicit,jpegls,j2k').split(',')

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
const load = () =>
  `load ${loadavg()
    .map((v) => v.toFixed(2))
    .join(' ')}`
const ms = (value) => value.toFixed(1).padStart(7)
const mb = (bytes) => (bytes / 1e6).toFixed(1).padStart(5)

async function loadCore() {
  const outfile = join(ROOT, 'out', 'bench', 'bench-decoded-cache-core.mjs')
  await build({
    ...nodeBundleOptions,
    stdin: {
      contents: [
        "export { DecodedCache, decodeCached, readCached, saveDecoded } from './main/core/dicom/decoded-cache'",
        "export { decodeFile } from './main/core/dicom/decode'",
        "export { createClient } from './common/contract/client'",
        "export { httpTransport } from './common/contract/http'",
        "export { decodeFrame } from './common/contract/binary-frame'"
      ].join('\n'),
      resolveDir: ROOT,
      loader: 'ts'
    },
    outfile
  })
  return import(pathToFileURL(outfile).href)
}

/** Runs `f` `runs` times; the median wall time in ms. */
async function timed(f, runs = RUNS) {
  const times = []
  for (let i = 0; i < runs; i++) {
    const start = performance.now()
    await f(i)
    times.push(performance.now() - start)
  }
  return median(times)
}

// ---- format: what an entry's read costs, raw against compressed ----

function shuffle(pixels, columns, delta) {
  const n = pixels.length
  const out = new Uint8Array(n * 2)
  for (let i = 0; i < n; i++) {
    const v = delta && i % columns !== 0 ? (pixels[i] - pixels[i - 1]) & 0xffff : pixels[i]
    out[i] = v & 0xff
    out[n + i] = v >> 8
  }
  return out
}

function unshuffle(bytes, n, columns, delta) {
  const pixels = new Uint16Array(n)
  for (let row = 0; row < n; row += columns) {
    let previous = 0
    for (let i = row; i < row + columns; i++) {
      const v = bytes[i] | (bytes[n + i] << 8)
      previous = delta ? (previous + v) & 0xffff : v
      pixels[i] = previous
    }
  }
  return pixels
}

async function formatTable(core, files, work) {
  console.log(
    '\nentry format: bytes on disk and read time (read the file + make the pixels usable), median of',
    RUNS
  )
  console.log(`  ${'size'.padEnd(10)} ${'format'.padEnd(34)} ${'MB'.padStart(5)}  ${'read ms'.padStart(7)}`)
  for (const size of SIZES) {
    const source = files[size].explicit
    const image = await core.decodeFile(source)
    const { pixels, columns } = image
    const n = pixels.length
    const cache = new core.DecodedCache({ dir: join(work, `format-${size}`), maxBytes: 1e12 })
    const fresh = await core.decodeCached(source, source, cache, {})
    await fresh.save()
    const key = cache.identify(source).key
    const entryFile = cache.fileOf(key)
    const rows = [
      ['stored: raw + CRC-32 (read, check, view)', statSync(entryFile).size, () => cache.read(key)]
    ]
    for (const delta of [false, true]) {
      const file = join(work, `format-${size}-${delta}.z`)
      writeFileSync(file, deflateSync(shuffle(pixels, columns, delta), { level: 1 }))
      rows.push([
        `zlib 1, byte shuffle${delta ? ' + delta' : ''}`,
        statSync(file).size,
        () => unshuffle(inflateSync(readFileSync(file)), n, columns, delta)
      ])
    }
    for (const [name, bytes, read] of rows) {
      read()
      const time = await timed(read, Math.max(RUNS, 5))
      console.log(`  ${size.padEnd(10)} ${name.padEnd(34)} ${mb(bytes)}  ${ms(time)}  (${load()})`)
    }
  }
}

// ---- in-process: decodeCached cold and cached ----

async function inProcessTable(core, files, work) {
  console.log(
    `\nin-process decodeCached(), median of ${RUNS}: cold = decode (the entry write after it timed apart), cached = read + CRC + view;` +
      '\n  added = what the cache adds before a first open is answered in the worker (stat, key, miss, copy of the pixels to write later)'
  )
  console.log(
    `  ${'size'.padEnd(10)} ${'syntax'.padEnd(9)} ${'cold ms'.padStart(8)} ${'write ms'.padStart(8)} ${'added ms'.padStart(8)} ${'cached ms'.padStart(9)} ${'entry MB'.padStart(8)} ${'file MB'.padStart(7)}`
  )
  for (const size of SIZES) {
    for (const syntax of SYNTAXES) {
      const file = files[size][syntax]
      if (!file) continue
      const colds = []
      const writes = []
      const added = []
      for (let run = 0; run < RUNS; run++) {
        const cache = new core.DecodedCache({
          dir: join(work, `cold-${size}-${syntax}-${run}`),
          maxBytes: 1e12
        })
        const opened = performance.now()
        const result = await core.decodeCached(file, file, cache, {})
        colds.push(performance.now() - opened)
        if (result.fromCache) throw new Error('a cold open came from the cache')
        const start = performance.now()
        await result.save().then(() => writes.push(performance.now() - start))
        const empty = new core.DecodedCache({
          dir: join(work, `empty-${size}-${syntax}-${run}`),
          maxBytes: 1e12
        })
        const before = performance.now()
        const { hit, identity } = core.readCached(file, empty)
        if (hit) throw new Error('an empty cache had the image')
        core.saveDecoded(empty, identity, file, result.image, undefined, { transfer: true })
        added.push(performance.now() - before)
      }
      const cold = median(colds)
      const cache = new core.DecodedCache({ dir: join(work, `cold-${size}-${syntax}-0`), maxBytes: 1e12 })
      const cached = await timed(async () => {
        const result = await core.decodeCached(file, file, cache, {})
        if (!result.fromCache) throw new Error('a cached open was decoded')
      })
      const entry = statSync(cache.fileOf(cache.identify(file).key)).size
      console.log(
        `  ${size.padEnd(10)} ${syntax.padEnd(9)} ${ms(cold).padStart(8)} ${ms(median(writes)).padStart(8)} ${ms(median(added)).padStart(8)} ${ms(cached).padStart(9)} ${mb(entry).padStart(8)} ${mb(statSync(file).size).padStart(7)}  (${load()})`
      )
    }
  }
}

// ---- the route the page uses ----

function startHost(workspace) {
  const child = spawn(process.execPath, [CLI, '--workspace', workspace, 'serve', '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stderr = ''
  child.stderr.on('data', (chunk) => (stderr += chunk))
  return new Promise((resolve, reject) => {
    let stdout = ''
    child.stdout.on('data', (chunk) => {
      stdout += chunk
      const url = /^(http:\/\/\S+)\n/.exec(stdout)?.[1]
      if (url)
        resolve({
          url: new URL(url),
          stop: () =>
            new Promise((done) => {
              child.once('exit', () => done())
              child.kill('SIGTERM')
            })
        })
    })
    child.once('exit', (code) => reject(new Error(`cxr-studio serve exited (${code}): ${stderr}`)))
  })
}

/**
 * One call of imagePixels as the page makes it: in Debian's Chromium (a page of the host's origin,
 * fetch + the whole body) when it is installed, else Node's fetch. ms until the body has arrived,
 * and the back end's own ms.
 */
async function pagePixels(core, host, datasetId, imageId) {
  if (host.page)
    return host.page.evaluate(
      async ({ datasetId, imageId }) => {
        const start = performance.now()
        const response = await fetch('/api/call/imagePixels', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ datasetId, imageId }),
          credentials: 'same-origin'
        })
        const body = await response.arrayBuffer()
        const ms = performance.now() - start
        if (!response.ok) throw new Error(`imagePixels ${imageId}: HTTP ${response.status}`)
        const headerLength = new DataView(body).getUint32(0, true)
        const meta = JSON.parse(new TextDecoder().decode(new Uint8Array(body, 4, headerLength)))
        return { ms, backEndMs: meta.decodeMs }
      },
      { datasetId, imageId }
    )
  const start = performance.now()
  const response = await fetch(new URL('/api/call/imagePixels', host.url.origin), {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `token ${host.url.searchParams.get('token')}`
    },
    body: JSON.stringify({ datasetId, imageId })
  })
  const body = await response.arrayBuffer()
  if (!response.ok)
    throw new Error(`imagePixels ${imageId}: HTTP ${response.status} ${Buffer.from(body).toString()}`)
  const total = performance.now() - start
  return { ms: total, backEndMs: core.decodeFrame(body).meta.decodeMs }
}

/** Opens the dataset in a new host on `workspace` and times one imagePixels per image. */
async function hostSession(core, workspace, dataset, browser) {
  const host = await startHost(workspace)
  try {
    if (browser) {
      host.page = await browser.newPage()
      // the tokened URL sets the page's cookie; then a page of the origin that is not the app, so
      // that the app's own start-up (thumbnails of the recent dataset) does not compete
      await host.page.goto(host.url.href)
      await host.page.goto(new URL('/bench-blank', host.url.origin).href)
    }
    const api = core.createClient(
      core.httpTransport({ baseUrl: host.url.origin, token: host.url.searchParams.get('token') })
    )
    const { datasetId } = await api.openDataset({ path: dataset })
    const rows = await api.listImages({ datasetId })
    // image name (the file's stem) -> ms; a small image first starts the decode workers
    const times = new Map()
    const warm = rows.find((row) => row.path.endsWith('warm-up.dcm'))
    await pagePixels(core, host, datasetId, warm.imageId)
    for (const row of rows.filter((r) => r !== warm))
      times.set(basename(row.path, '.dcm'), await pagePixels(core, host, datasetId, row.imageId))
    // let the worker finish writing the entries before the host goes
    await new Promise((done) => setTimeout(done, 1500))
    return times
  } finally {
    await host.page?.close()
    await host.stop()
  }
}

/** Debian's Chromium through playwright-core, or null when either is missing. */
async function launchChromium() {
  if (!existsSync(CHROMIUM)) return null
  try {
    const { chromium } = await import('playwright-core')
    return await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
  } catch (err) {
    console.log(`(Chromium did not start: ${err.message}; Node's fetch is the client)`)
    return null
  }
}

async function routeTable(core, files, work) {
  const dataset = join(work, 'dataset')
  mkdirSync(join(dataset, 'train', 'warm-up', 'series'), { recursive: true })
  copyFileSync(
    join(ROOT, 'test', 'fixtures', 'dicom', 'files', 'mono2_u8.explicit.dcm'),
    join(dataset, 'train', 'warm-up', 'series', 'warm-up.dcm')
  )
  const names = []
  for (const size of SIZES)
    for (const syntax of SYNTAXES) {
      if (!files[size][syntax]) continue
      const name = `${size}-${syntax}`
      const dir = join(dataset, 'train', name, 'series')
      mkdirSync(dir, { recursive: true })
      linkSync(files[size][syntax], join(dir, `${name}.dcm`))
      names.push(name)
    }
  const browser = await launchChromium()
  console.log(
    `\nthe page's route (POST /api/call/imagePixels on cxr-studio serve, whole body, read by ${browser ? "Chromium's fetch in a page of the host" : "Node's fetch"}), median of ${RUNS} host sessions:` +
      '\n  first open = empty workspace; cached = a new host on the workspace the first session left (nothing in memory);' +
      "\n  (back end) = the host's own time for the call (decodeMs in the answer: the decode or the cache read, in a worker)"
  )
  const cold = new Map()
  const cached = new Map()
  try {
    for (let run = 0; run < RUNS; run++) {
      const workspace = mkdtempSync(join(work, 'ws-'))
      for (const [name, time] of await hostSession(core, workspace, dataset, browser))
        cold.set(name, [...(cold.get(name) ?? []), time])
      for (const [name, time] of await hostSession(core, workspace, dataset, browser))
        cached.set(name, [...(cached.get(name) ?? []), time])
    }
  } finally {
    await browser?.close()
  }
  console.log(
    `  ${'image'.padEnd(20)} ${'first open ms'.padStart(13)} ${'(back end)'.padStart(10)} ${'cached ms'.padStart(9)} ${'(back end)'.padStart(10)}`
  )
  const column = (runs, key, width) => ms(median(runs.map((run) => run[key]))).padStart(width)
  for (const name of names)
    console.log(
      `  ${name.padEnd(20)} ${column(cold.get(name), 'ms', 13)} ${column(cold.get(name), 'backEndMs', 10)} ${column(cached.get(name), 'ms', 9)} ${column(cached.get(name), 'backEndMs', 10)}  (${load()})`
    )
}

const work = mkdtempSync(join(tmpdir(), 'cxr-bench-cache-'))
try {
  console.log(`bench:cache — ${load()} at start; other processes on this machine make every figure noisy`)
  const { files } = await benchImages({
    sizes: SIZES,
    syntaxes: [...new Set(['explicit', ...SYNTAXES])],
    log: (line) => console.log(line)
  })
  const core = await loadCore()
  await formatTable(core, files, work)
  await inProcessTable(core, files, work)
  await routeTable(core, files, work)
} finally {
  rmSync(work, { recursive: true, force: true })
}
