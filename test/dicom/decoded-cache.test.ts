// The workspace's on-disk cache of decoded images: a file seen before opens without its decoder, a
// changed file never gets stale pixels, the folder stays within its bound, a damaged entry is never
// shown, concurrent writers leave one whole entry, a full disk only costs the cache.
import { spawn, spawnSync } from 'node:child_process'
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  truncateSync,
  utimesSync,
  writeFileSync,
  writeSync,
  closeSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build } from 'esbuild'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { DecodedImage } from '../../common/pixels'
import { decodeFile } from '../../main/core/dicom/decode'
import {
  DecodedCache,
  datasetRootOf,
  decodeCached,
  decodedCacheDir,
  openDecodedCache
} from '../../main/core/dicom/decoded-cache'
import { pixelStats } from '../../main/core/dicom/pixel-stats'
import { writeDicom } from '../../main/core/dicom/write'
import { DecodePool } from '../../main/core/dicom/pool'
import { SAMPLED_PREVIEW_MIN_RATIO } from '../../main/core/dicom/preview'
import { updateWorkspaceSettings } from '../../main/core/settings'
import { tempName } from '../../main/core/temp-files'
import { letterbox, renderDisplay } from '../../common/pixels'
import { inProcessCachedDisplaySource, openDisplaySource } from '../../main/ml/data/display-source'
import { prepareTrainingData } from '../../main/ml/data/prepare'
import { runCli } from '../cli'
import { demoDataset } from '../ml/helpers'
import { fixturePath } from './fixtures'

let root: string
let dataset: string
let workspace: string
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'cxr-decoded-cache-'))
  dataset = join(root, 'dataset')
  workspace = join(root, 'workspace')
  mkdirSync(join(dataset, 'train'), { recursive: true })
})
afterEach(() => rmSync(root, { recursive: true, force: true }))

/** A copy of a fixture in the dataset folder, so the test may change it. */
function datasetFile(fixture: string, name = fixture): string {
  const path = join(dataset, 'train', `${name}.dcm`)
  copyFileSync(fixturePath(`files/${fixture}.dcm`), path)
  // whole seconds: the mtime can be put back exactly (nanoseconds included) after an in-place edit
  utimesSync(path, 1_700_000_000, 1_700_000_000)
  return path
}

/** decodeFile, counting its calls. */
function countingDecoder() {
  const calls: string[] = []
  const decode = (absPath: string, relPath: string) => {
    calls.push(absPath)
    return decodeFile(absPath, relPath)
  }
  return { calls, decode }
}

function cacheOf(
  maxBytes = 64 * 1024 * 1024,
  extra: Partial<ConstructorParameters<typeof DecodedCache>[0]> = {}
) {
  return new DecodedCache({ dir: decodedCacheDir(workspace), maxBytes, ...extra })
}

const entryFiles = () =>
  existsSync(decodedCacheDir(workspace))
    ? readdirSync(decodedCacheDir(workspace)).filter((n) => n.endsWith('.pixels'))
    : []

/** Every fact of the image but the pixels, and the pixels as plain numbers of their type. */
function facts(image: DecodedImage) {
  const { pixels, ...rest } = image
  return { ...rest, type: pixels.constructor.name, length: pixels.length }
}

/** Overwrites the file's pixel data region in place (same size, inode and mtime): its identity stays. */
function scrambleInPlace(path: string): void {
  const size = statSync(path).size
  const fd = openSync(path, 'r+')
  writeSync(fd, Buffer.alloc(1024, 0x5a), 0, 1024, size - 1024)
  closeSync(fd)
  utimesSync(path, 1_700_000_000, 1_700_000_000)
}

describe('decodeCached', () => {
  it.each([
    'mono2_u12.jpegls',
    'mono2_s16.j2k',
    'mono1_u12.rle',
    'mono2_u8.explicit',
    'mono2_u12_voilut.explicit'
  ])('%s: the second open comes from the cache, not the decoder, and is identical', async (fixture) => {
    const path = datasetFile(fixture)
    const truth = await decodeFile(path)
    const cache = cacheOf()
    const { calls, decode } = countingDecoder()

    const first = await decodeCached(path, fixture, cache, { decode, stats: true })
    expect(first.fromCache).toBe(false)
    expect(await first.save!()).toBe(true)
    expect(entryFiles()).toHaveLength(1)

    // the source's pixel data is overwritten with its identity kept: only a cache hit still has the old pixels
    scrambleInPlace(path)
    const second = await decodeCached(path, fixture, cacheOf(), { decode })
    expect(second.fromCache).toBe(true)
    expect(calls).toHaveLength(1)
    expect(second.save).toBeNull()
    expect(facts(second.image)).toEqual(facts(truth))
    expect(second.image.pixels).toEqual(truth.pixels)
    expect(second.stats).toEqual(pixelStats(truth))
  })

  it('decodes again when the file changes: a new mtime or a new size', async () => {
    const path = datasetFile('mono2_u12.explicit')
    const cache = cacheOf()
    const { calls, decode } = countingDecoder()
    await (
      await decodeCached(path, 'a', cache, { decode })
    ).save!()
    expect((await decodeCached(path, 'a', cache, { decode })).fromCache).toBe(true)

    utimesSync(path, 1_700_000_100, 1_700_000_100)
    const touched = await decodeCached(path, 'a', cache, { decode })
    expect(touched.fromCache).toBe(false)
    await touched.save!()

    // another image of another size in its place, with the same mtime
    writeFileSync(path, readFileSync(fixturePath('files/mono2_u16.explicit.dcm')))
    utimesSync(path, 1_700_000_100, 1_700_000_100)
    const grown = await decodeCached(path, 'a', cache, { decode })
    expect(grown.fromCache).toBe(false)
    expect(calls).toHaveLength(3)
    expect(grown.image.pixels).toEqual((await decodeFile(path)).pixels)
  })

  it('rejects a damaged or truncated entry, never shows it, and writes it again', async () => {
    const path = datasetFile('mono2_u16.jpegls')
    const truth = await decodeFile(path)
    const { calls, decode } = countingDecoder()
    await (
      await decodeCached(path, 'a', cacheOf(), { decode })
    ).save!()
    const [name] = entryFiles()
    const entry = join(decodedCacheDir(workspace), name)

    // one flipped pixel byte in the middle of the entry
    const damaged = readFileSync(entry)
    damaged[damaged.length >> 1] ^= 0x40
    writeFileSync(entry, damaged)
    const problems: string[] = []
    const afterDamage = await decodeCached(
      path,
      'a',
      cacheOf(undefined, { onProblem: (m) => problems.push(m) }),
      {
        decode
      }
    )
    expect(afterDamage.fromCache).toBe(false)
    expect(afterDamage.image.pixels).toEqual(truth.pixels)
    expect(problems.join()).toMatch(/checksum/)
    expect(existsSync(entry)).toBe(false)
    await afterDamage.save!()

    truncateSync(entry, statSync(entry).size - 100)
    const afterCut = await decodeCached(path, 'a', cacheOf(), { decode })
    expect(afterCut.fromCache).toBe(false)
    expect(afterCut.image.pixels).toEqual(truth.pixels)
    await afterCut.save!()

    const rebuilt = await decodeCached(path, 'a', cacheOf(), { decode })
    expect(rebuilt.fromCache).toBe(true)
    expect(rebuilt.image.pixels).toEqual(truth.pixels)
    expect(calls).toHaveLength(3)
  })

  it('keeps the folder within its bound, evicting the least recently used entries', async () => {
    const files = ['a', 'b', 'c', 'd'].map((name) => datasetFile('mono2_u16.explicit', name))
    const probe = await decodeCached(files[0], 'a', cacheOf(), {})
    await probe.save!()
    const entryBytes = statSync(join(decodedCacheDir(workspace), entryFiles()[0])).size
    rmSync(decodedCacheDir(workspace), { recursive: true })

    // room for two and a half entries
    const bound = Math.floor(entryBytes * 2.5)
    const cache = cacheOf(bound)
    const ages = [3000, 1000, 2000] // seconds since last use of a, b, c
    for (let i = 0; i < 3; i++) {
      const result = await decodeCached(files[i], 'x', cache, {})
      await result.save!()
      const file = cache.fileOf(cache.identify(files[i])!.key)
      const used = Date.now() / 1000 - ages[i]
      utimesSync(file, used, used)
    }
    // three entries went in one at a time; the bound held after each write
    const held = await cache.entries()
    expect(held.reduce((sum, e) => sum + e.bytes, 0)).toBeLessThanOrEqual(bound)
    // writing c evicted a (least recently used of a, b)
    expect(existsSync(cache.fileOf(cache.identify(files[0])!.key))).toBe(false)

    await (
      await decodeCached(files[3], 'x', cache, {})
    ).save!()
    const left = (await cache.entries()).map((e) => e.file)
    expect(left).toHaveLength(2)
    expect(left).toContain(cache.fileOf(cache.identify(files[1])!.key))
    expect(left).toContain(cache.fileOf(cache.identify(files[3])!.key))
    expect((await cache.entries()).reduce((sum, e) => sum + e.bytes, 0)).toBeLessThanOrEqual(bound)
  })

  it('is off at a bound of 0 (the workspace setting): every open decodes, nothing is written', async () => {
    await updateWorkspaceSettings(workspace, { decodedCacheBytes: 0 })
    expect(await openDecodedCache(workspace)).toBeNull()
    const path = datasetFile('mono2_u12.explicit')
    const { calls, decode } = countingDecoder()
    const off = cacheOf(0)
    const first = await decodeCached(path, 'a', off, { decode })
    expect(first.save).toBeNull()
    await decodeCached(path, 'a', off, { decode })
    expect(calls).toHaveLength(2)
    expect(existsSync(decodedCacheDir(workspace))).toBe(false)

    await updateWorkspaceSettings(workspace, { decodedCacheBytes: 1024 ** 2 })
    expect((await openDecodedCache(workspace))?.maxBytes).toBe(1024 ** 2)
  })

  it('on a full disk the open still succeeds, uncached, with no temp file left', async () => {
    const path = datasetFile('mono2_u12.jpegls')
    const problems: string[] = []
    const full = cacheOf(undefined, {
      onProblem: (m) => problems.push(m),
      // what the kernel does: part of the file written, then ENOSPC
      writeFile: async (file, data) => {
        writeFileSync(file, data.subarray(0, 100))
        throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' })
      }
    })
    const { calls, decode } = countingDecoder()
    const opened = await decodeCached(path, 'a', full, { decode })
    expect(opened.image.pixels).toEqual((await decodeFile(path)).pixels)
    expect(await opened.save!()).toBe(false)
    expect(problems.join()).toMatch(/ENOSPC/)
    expect(readdirSync(decodedCacheDir(workspace))).toEqual([])
    expect((await decodeCached(path, 'a', full, { decode })).fromCache).toBe(false)
    expect(calls).toHaveLength(2)
  })

  // a real full disk where the test may mount a small tmpfs (root on Linux); else the writer above stands in
  it.runIf(canMountTmpfs())(
    'on a real full file system (a 256 KB tmpfs) the open succeeds and nothing is left',
    async () => {
      const dir = mountSmallTmpfs()
      try {
        writeFileSync(join(dir, 'filler'), Buffer.alloc(250 * 1024))
        const path = datasetFile('mono2_u16.explicit')
        const problems: string[] = []
        const full = new DecodedCache({
          dir: join(dir, 'decoded-pixels'),
          maxBytes: 1e9,
          onProblem: (m) => problems.push(m)
        })
        const opened = await decodeCached(path, 'a', full, {})
        expect(opened.image.pixels).toEqual((await decodeFile(path)).pixels)
        expect(await opened.save!()).toBe(false)
        expect(problems.join()).toMatch(/ENOSPC/)
        expect(readdirSync(join(dir, 'decoded-pixels'))).toEqual([])
      } finally {
        spawnSync('umount', [dir])
        rmSync(dir, { recursive: true, force: true })
      }
    }
  )

  it('never writes inside the dataset folder the image comes from', async () => {
    const path = datasetFile('mono2_u12.explicit')
    const inside = new DecodedCache({ dir: join(dataset, 'workspace', 'decoded-pixels'), maxBytes: 1e9 })
    const result = await decodeCached(path, 'train/mono2_u12.explicit.dcm', inside, { datasetRoot: dataset })
    expect(await result.save!()).toBe(false)
    expect(existsSync(join(dataset, 'workspace'))).toBe(false)
  })

  it("names a file's dataset folder from the path the app knows it by", () => {
    expect(datasetRootOf('/data/cxr/train/s/e/a.dcm', 'train/s/e/a.dcm')).toBe('/data/cxr')
    expect(datasetRootOf('/data/cxr/train/s/e/a.dcm', 'a.dcm')).toBe('/data/cxr/train/s/e')
    // a path typed on the command line, or one the file does not end with: the file's own folder
    expect(datasetRootOf('/data/cxr/train/a.dcm', '/data/cxr/train/a.dcm')).toBe('/data/cxr/train')
    expect(datasetRootOf('/data/cxr/train/a.dcm', 'test/a.dcm')).toBe('/data/cxr/train')
    expect(datasetRootOf('/data/cxr/train/a.dcm', '../cxr/train/a.dcm')).toBe('/data/cxr/train')
  })

  it('removes temp files that killed writers left, and keeps those of live ones', async () => {
    const dir = decodedCacheDir(workspace)
    mkdirSync(dir, { recursive: true })
    const dead = join(dir, '.abc.pixels.999999999-0123456789ab.tmp')
    const live = join(dir, tempName('def.pixels'))
    writeFileSync(dead, 'x')
    writeFileSync(live, 'x')
    const cache = cacheOf()
    cache.read('0'.repeat(40))
    await expect.poll(() => existsSync(dead)).toBe(false)
    expect(existsSync(live)).toBe(true)
  })
})

describe('two processes writing the same entry at once', () => {
  it('leave one whole entry and no temp files', async () => {
    const path = datasetFile('mono2_u16.explicit')
    // beside the repository's node_modules, which the bundle imports from
    const driver = join(
      import.meta.dirname,
      '..',
      '..',
      'out',
      'test',
      `decoded-cache-writer-${process.pid}.mjs`
    )
    // each process decodes, then waits for "go" so that both write at the same moment
    await build({
      stdin: {
        contents: `
          import { DecodedCache, decodeCached } from './main/core/dicom/decoded-cache'
          const [dir, file] = process.argv.slice(2)
          const result = await decodeCached(file, file, new DecodedCache({ dir, maxBytes: 1e9 }), {})
          process.stdout.write('ready\\n')
          process.stdin.once('data', async () => {
            process.stdout.write(String(await result.save()) + '\\n')
            process.exit(0)
          })
        `,
        resolveDir: join(import.meta.dirname, '..', '..'),
        loader: 'ts'
      },
      bundle: true,
      platform: 'node',
      format: 'esm',
      packages: 'external',
      outfile: driver,
      logLevel: 'error'
    })
    const dir = decodedCacheDir(workspace)
    const writers = [0, 1].map(() => {
      const child = spawn(process.execPath, [driver, dir, path], { stdio: ['pipe', 'pipe', 'inherit'] })
      let out = ''
      const ready = new Promise<void>((resolve) =>
        child.stdout.on('data', (chunk) => {
          out += chunk
          if (out.includes('ready')) resolve()
        })
      )
      const done = new Promise<string>((resolve) => child.on('exit', () => resolve(out)))
      return { child, ready, done }
    })
    await Promise.all(writers.map((w) => w.ready))
    for (const w of writers) w.child.stdin.write('go\n')
    const outputs = await Promise.all(writers.map((w) => w.done))
    expect(outputs.map((o) => o.trim().split('\n').pop())).toEqual(['true', 'true'])
    expect(readdirSync(dir)).toHaveLength(1)
    const hit = await decodeCached(path, 'a', cacheOf(), {
      decode: () => Promise.reject(new Error('the decoder must not run'))
    })
    expect(hit.fromCache).toBe(true)
    expect(hit.image.pixels).toEqual((await decodeFile(path)).pixels)
    rmSync(driver, { force: true })
  })
})

// Runs the bundled decode worker and CLI (out/node/): `npm test` builds them first.
describe('the decode pool, the CLI and training data use it', () => {
  const config = () => ({ dir: decodedCacheDir(workspace), maxBytes: 1e9 })

  it('a later session opens an image seen before from the cache, with its stats; background work only reads it', async () => {
    const path = datasetFile('mono2_u16.jpegls')
    const other = datasetFile('mono2_u12.j2k')
    const truth = await decodeFile(path)
    const first = new DecodePool({ size: 1, decodedCache: config() })
    try {
      await first.decodeWithStats(path, 'train/mono2_u16.jpegls.dcm')
      await expect.poll(() => entryFiles().length, { timeout: 15_000 }).toBe(1)
      // a thumbnail is background work: it does not add the file it decoded
      await first.thumbnail(other, 16, {}, 'train/mono2_u12.j2k.dcm')
      await first.decodeWithStats(path, 'train/mono2_u16.jpegls.dcm', { priority: 'view' })
    } finally {
      await first.close()
    }
    expect(entryFiles()).toHaveLength(1)
    const thumbnail = await (async () => {
      const pool = new DecodePool({ size: 1 })
      try {
        return await pool.thumbnail(path, 16)
      } finally {
        await pool.close()
      }
    })()

    scrambleInPlace(path)
    const second = new DecodePool({ size: 1, decodedCache: config() })
    try {
      const { image, stats } = await second.decodeWithStats(path, 'train/mono2_u16.jpegls.dcm')
      expect(facts(image)).toEqual(facts(truth))
      expect(image.pixels).toEqual(truth.pixels)
      expect(stats).toEqual(pixelStats(truth))
      // thumbnails read it too (a fresh pool: nothing in its memory)
      const again = new DecodePool({ size: 1, decodedCache: config() })
      try {
        expect(await again.thumbnail(path, 16, {}, 'train/mono2_u16.jpegls.dcm')).toEqual(thumbnail)
      } finally {
        await again.close()
      }
    } finally {
      await second.close()
    }
  })

  it("the viewer's preview step: an image in the cache answers whole; a full decode made for a preview is written", async () => {
    // previews at most 256 a side: the image is SAMPLED_PREVIEW_MIN_RATIO of them and more, so it gets
    // a downsampled preview, which decodes the whole image
    const maxSide = 256
    const rows = 1600
    const columns = 1700
    expect(rows * columns).toBeGreaterThanOrEqual(SAMPLED_PREVIEW_MIN_RATIO * maxSide ** 2)
    const pixels = Uint16Array.from({ length: rows * columns }, (_, i) => (i * 7919) % 4096)
    const path = join(dataset, 'train', 'large.dcm')
    writeFileSync(
      path,
      await writeDicom(
        {
          rows,
          columns,
          bitsAllocated: 16,
          bitsStored: 12,
          pixelRepresentation: 0,
          photometric: 'MONOCHROME2',
          pixels,
          studyInstanceUid: '2.25.1',
          seriesInstanceUid: '2.25.2',
          sopInstanceUid: '2.25.3',
          modality: 'DX'
        },
        'explicit-le'
      )
    )
    utimesSync(path, 1_700_000_000, 1_700_000_000)
    const first = new DecodePool({ size: 1, decodedCache: config() })
    try {
      const preview = await first.preview(path, 'train/large.dcm', maxSide)
      expect(preview?.method).toBe('downsampled')
      await expect.poll(() => entryFiles().length, { timeout: 15_000 }).toBe(1)
    } finally {
      await first.close()
    }

    scrambleInPlace(path)
    const later = new DecodePool({ size: 1, decodedCache: config() })
    try {
      // no preview: the cached full image came back instead, and the full request is served from it
      expect(await later.preview(path, 'train/large.dcm', maxSide)).toBeNull()
      expect((await later.decode(path, 'train/large.dcm')).pixels).toEqual(pixels)
    } finally {
      await later.close()
    }
  })

  it('cxr-studio decode writes the entry, reads it back the next time, and --no-cache bypasses it', async () => {
    const path = datasetFile('mono2_s16.j2k')
    const decode = async (out: string, ...extra: string[]) => {
      const result = await runCli([
        '--workspace',
        workspace,
        'decode',
        path,
        '--npy',
        join(root, out),
        '--json',
        ...extra
      ])
      expect(result.code, result.stderr).toBe(0)
      return JSON.parse(result.stdout).cache as string
    }
    expect(await decode('a.npy')).toBe('written')
    expect(entryFiles()).toHaveLength(1)
    expect(await decode('b.npy')).toBe('hit')
    expect(await decode('c.npy', '--no-cache')).toBe('off')
    const a = readFileSync(join(root, 'a.npy'))
    expect(readFileSync(join(root, 'b.npy')).equals(a)).toBe(true)
    expect(readFileSync(join(root, 'c.npy')).equals(a)).toBe(true)
  })

  it('cxr-studio cache shows, bounds, turns off and clears it', async () => {
    const path = datasetFile('mono2_u16.explicit')
    const cli = async (...args: string[]) => {
      const result = await runCli(['--workspace', workspace, ...args])
      expect(result.code, result.stderr).toBe(0)
      return args.includes('--json') ? JSON.parse(result.stdout) : result.stdout
    }
    await cli('decode', path, '--npy', join(root, 'a.npy'))
    const shown = await cli('cache', '--json')
    expect(shown).toMatchObject({
      folder: decodedCacheDir(workspace),
      images: 1,
      enabled: true,
      limitBytes: 2 * 1024 ** 3
    })
    expect(shown.bytes).toBeGreaterThan(0)

    // a bound below one entry: the entry goes, and the setting stays for the next run
    expect(await cli('cache', '--limit', '1KB', '--json')).toMatchObject({ images: 0, limitBytes: 1000 })
    expect(JSON.parse(readFileSync(join(workspace, 'settings.json'), 'utf8')).decodedCacheBytes).toBe(1000)

    await cli('cache', '--limit', '1GiB')
    await cli('decode', path, '--npy', join(root, 'b.npy'))
    expect(await cli('cache', '--clear', '--json')).toMatchObject({ images: 0, clearedBytes: shown.bytes })

    await cli('decode', path, '--npy', join(root, 'c.npy'))
    expect(await cli('cache', '--limit', '0', '--json')).toMatchObject({ images: 0, enabled: false })
    expect((await cli('decode', path, '--npy', join(root, 'd.npy'), '--json')).cache).toBe('off')
    expect(entryFiles()).toEqual([])
    expect((await runCli(['--workspace', workspace, 'cache', '--limit', 'lots'])).code).toBe(2)
  })

  it.each([
    ['in-process', () => inProcessCachedDisplaySource()],
    ['decode pool', () => openDisplaySource()]
  ])('training data preparation (%s) decodes each image once across image sizes', async (_, makeSource) => {
    const demo = await demoDataset({ studies: 4, testStudies: 1 })
    try {
      const files: string[] = []
      const walk = (dir: string) => {
        for (const entry of readdirSync(dir, { withFileTypes: true })) {
          const path = join(dir, entry.name)
          if (entry.isDirectory()) walk(path)
          else if (entry.name.endsWith('.dcm')) files.push(path)
        }
      }
      walk(join(demo, 'train'))
      for (const file of files) utimesSync(file, 1_700_000_000, 1_700_000_000)
      const options = { workspace, policy: 'keep-all' as const, valFraction: 0.25, seed: 1 }
      const first = makeSource()
      const small = await prepareTrainingData(demo, { ...options, imageSize: 32, source: first })
      // the workers write after answering: closing the pool at once would end the last writes
      await expect
        .poll(() => entryFiles().length, { timeout: 15_000 })
        .toBe(small.train.length + small.val.length)
      await (first as { close?: () => Promise<void> }).close?.()

      const truths = new Map<string, Uint8Array>()
      for (const sample of [...small.train, ...small.val]) {
        const image = await decodeFile(sample.absPath)
        truths.set(sample.imageId, letterbox(renderDisplay(image), image.columns, image.rows, 48, 48).pixels)
      }
      for (const file of files) scrambleInPlace(file)
      const second = makeSource()
      const large = await prepareTrainingData(demo, { ...options, imageSize: 48, source: second })
      await (second as { close?: () => Promise<void> }).close?.()
      expect(large.errors).toEqual([])
      for (const sample of [...large.train, ...large.val])
        expect(await large.cache.load(sample)).toEqual(truths.get(sample.imageId))
    } finally {
      rmSync(demo, { recursive: true, force: true })
    }
  })
})

/** True where the test may mount a tmpfs (root on Linux, allowed by the sandbox): tried and undone. */
function canMountTmpfs(): boolean {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false
  const dir = mkdtempSync(join(tmpdir(), 'cxr-mount-probe-'))
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4k', 'tmpfs', dir]).status === 0
  if (mounted) spawnSync('umount', [dir])
  rmSync(dir, { recursive: true, force: true })
  return mounted
}

/** A fresh 256 KB tmpfs (the caller unmounts it). */
function mountSmallTmpfs(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cxr-full-disk-'))
  const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', dir], { encoding: 'utf8' })
  if (mount.status !== 0) throw new Error(`mount tmpfs: ${mount.stderr}`)
  return dir
}
