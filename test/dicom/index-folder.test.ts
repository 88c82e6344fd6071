import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Progress } from '../../common/domain'
import { indexCachePath, indexFolder, INDEX_CACHE_VERSION } from '../../main/core/dicom/index-folder'
import { badFiles } from './bad-files'
import { fixturePath } from './fixtures'

// Root can read any folder, so a folder the OS refuses to list is simulated at the readdir call.
vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>()
  const readdir = ((path: string, options: unknown) =>
    String(path).endsWith('locked')
      ? Promise.reject(
          Object.assign(new Error(`EACCES: permission denied, scandir '${path}'`), { code: 'EACCES' })
        )
      : (actual.readdir as (p: string, o: unknown) => Promise<unknown>)(
          path,
          options
        )) as typeof actual.readdir
  return { ...actual, readdir, default: { ...actual, readdir } }
})
// ... and at readdirSync, which the indexer uses while the disk answers quickly
vi.mock('node:fs', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs')>()
  const readdirSync = ((path: string, options: unknown) => {
    if (String(path).endsWith('locked'))
      throw Object.assign(new Error(`EACCES: permission denied, scandir '${path}'`), { code: 'EACCES' })
    return (actual.readdirSync as (p: string, o: unknown) => unknown)(path, options)
  }) as typeof actual.readdirSync
  return { ...actual, readdirSync, default: { ...actual, readdirSync } }
})

const GOOD = {
  'train/s1/r1/img1.dcm': 'mono2_u12.explicit.dcm',
  'train/s1/r1/img2.DCM': 'mono1_u12.jpegls.dcm',
  'train/s2/r2/img3.dcm': 'mono2_u16.j2k.dcm',
  'test/s3/r3/img4.dcm': 'mono2_u8.rle.dcm',
  'extra/noextension': 'mono2_s16.implicit.dcm'
}

describe('indexFolder', () => {
  let root: string
  let workspace: string

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'cxr-index-'))
    workspace = mkdtempSync(join(tmpdir(), 'cxr-ws-'))
    for (const [rel, fixture] of Object.entries(GOOD)) {
      mkdirSync(join(root, rel, '..'), { recursive: true })
      copyFileSync(fixturePath(`files/${fixture}`), join(root, rel))
    }
    mkdirSync(join(root, 'bad'))
    for (const [name, { bytes }] of Object.entries(badFiles())) writeFileSync(join(root, 'bad', name), bytes)
    copyFileSync(fixturePath('files/unsupported.mpeg2.dcm'), join(root, 'bad', 'video.dcm'))
    writeFileSync(join(root, 'README'), 'not a DICOM file, and not named like one\n')
    writeFileSync(join(root, 'train_image_level.csv'), 'id,boxes,label,StudyInstanceUID\n')
    mkdirSync(join(root, 'locked'))
    copyFileSync(fixturePath('files/mono2_u8.explicit.dcm'), join(root, 'locked', 'hidden.dcm'))
  })
  afterEach(() => {
    rmSync(root, { recursive: true, force: true })
    rmSync(workspace, { recursive: true, force: true })
  })

  it('indexes every DICOM file, sorted by path, with Kaggle ids from the path', async () => {
    const index = await indexFolder(root, { workspace })
    expect(index.images.map((i) => i.path)).toEqual([
      'extra/noextension',
      'test/s3/r3/img4.dcm',
      'train/s1/r1/img1.dcm',
      'train/s1/r1/img2.DCM',
      'train/s2/r2/img3.dcm'
    ])
    expect(index.images[2]).toMatchObject({
      studyId: 's1',
      seriesId: 'r1',
      imageId: 'img1',
      rows: 80,
      columns: 96
    })
    expect(index.images[3]).toMatchObject({
      imageId: 'img2',
      photometric: 'MONOCHROME1',
      transferSyntaxUid: '1.2.840.10008.1.2.4.80'
    })
  })

  it('turns each bad file and the unreadable folder into an error while the rest still indexes', async () => {
    const index = await indexFolder(root, { workspace })
    expect(index.images).toHaveLength(5)
    const reasons = Object.fromEntries(index.errors.map((e) => [e.path, e.reason]))
    expect(Object.keys(reasons)).toEqual([
      'bad/empty.dcm',
      'bad/garbage.dcm',
      'bad/no-pixels.dcm',
      'bad/notes.dcm',
      'bad/truncated-fragment.dcm',
      'bad/truncated-header.dcm',
      'bad/truncated-pixels.dcm',
      'bad/video.dcm',
      'locked'
    ])
    for (const [name, { reason }] of Object.entries(badFiles()))
      expect(reasons[`bad/${name}`]).toMatch(reason)
    expect(reasons['bad/video.dcm']).toBe(
      'unsupported transfer syntax 1.2.840.10008.1.2.4.100 (MPEG2 Main Profile)'
    )
    expect(reasons.locked).toBe('cannot read folder: EACCES')
  })

  it('reads the same records and errors through the thread pool as on this thread', async () => {
    const onThisThread = await indexFolder(root)
    const threadPool = await indexFolder(root, { readMode: 'async' })
    expect(threadPool).toEqual(onThisThread)
    expect(onThisThread.images).toHaveLength(5)
    expect(onThisThread.errors.map((e) => e.path)).toContain('locked')
  })

  it('follows a link to a folder elsewhere (each real folder once), so a linked-in train/ is indexed', async () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'cxr-linked-'))
    const linked = mkdtempSync(join(tmpdir(), 'cxr-links-'))
    try {
      mkdirSync(join(elsewhere, 's9', 'r9'), { recursive: true })
      copyFileSync(fixturePath('files/mono2_u12.explicit.dcm'), join(elsewhere, 's9', 'r9', 'img9.dcm'))
      symlinkSync(elsewhere, join(linked, 'train'))
      symlinkSync(elsewhere, join(linked, 'zz-again')) // a second link to the same folder
      symlinkSync(linked, join(elsewhere, 's9', 'up')) // a loop back to the root
      const index = await indexFolder(linked)
      expect(index.images.map((i) => [i.path, i.studyId, i.imageId])).toEqual([
        ['train/s9/r9/img9.dcm', 's9', 'img9']
      ])
      expect(index.errors).toEqual([])
    } finally {
      rmSync(elsewhere, { recursive: true, force: true })
      rmSync(linked, { recursive: true, force: true })
    }
  })

  it('reports progress up to the number of files', async () => {
    const events: Progress[] = []
    await indexFolder(root, { onProgress: (p) => events.push(p) })
    expect(events.at(-1)).toEqual({ stage: 'index', done: 14, total: 14 })
    expect(events[0].done).toBe(0)
  })

  it('stops when cancelled', async () => {
    const controller = new AbortController()
    controller.abort()
    await expect(indexFolder(root, { signal: controller.signal })).rejects.toThrow()
  })

  it('rejects a missing folder with a one-line user error', async () => {
    await expect(indexFolder(join(root, 'nope'))).rejects.toThrow(
      /nope: cannot open dataset folder \(ENOENT\)/
    )
  })

  describe('cache', () => {
    it('is written atomically and versioned in the dataset cache folder', async () => {
      await indexFolder(root, { workspace })
      const cache = JSON.parse(readFileSync(indexCachePath(workspace, root), 'utf8'))
      expect(cache.version).toBe(INDEX_CACHE_VERSION)
      expect(Object.keys(cache.entries)).toHaveLength(13)
    })

    it('serves unchanged files (same size and mtime) from the cache and re-reads changed ones', async () => {
      const target = join(root, 'train/s1/r1/img1.dcm')
      const record = (index: Awaited<ReturnType<typeof indexFolder>>) =>
        index.images.find((i) => i.path === 'train/s1/r1/img1.dcm')!
      const mtime = 1_700_000_000 // whole seconds, so restoring it is exact on every file system
      utimesSync(target, mtime, mtime)
      expect(record(await indexFolder(root, { workspace })).windowCenter).toEqual([1024, 2048])
      // edit Window Center in place (same size), then restore the mtime: the cached record must be kept
      const bytes = readFileSync(target)
      const at = bytes.indexOf('1024.0\\2048.0')
      expect(at).toBeGreaterThan(0)
      bytes.write('1500.0', at)
      writeFileSync(target, bytes)
      utimesSync(target, mtime, mtime)
      expect(record(await indexFolder(root, { workspace })).windowCenter).toEqual([1024, 2048])
      // a new mtime refreshes the entry
      utimesSync(target, mtime, mtime + 5)
      expect(record(await indexFolder(root, { workspace })).windowCenter).toEqual([1500, 2048])
    })

    it('drops deleted files and picks up new ones', async () => {
      await indexFolder(root, { workspace })
      rmSync(join(root, 'train/s2/r2/img3.dcm'))
      copyFileSync(fixturePath('files/mono2_u8.jpeg-baseline.dcm'), join(root, 'train/s2/r2/img5.dcm'))
      const index = await indexFolder(root, { workspace })
      const paths = index.images.map((i) => i.path)
      expect(paths).toContain('train/s2/r2/img5.dcm')
      expect(paths).not.toContain('train/s2/r2/img3.dcm')
      expect(
        Object.keys(JSON.parse(readFileSync(indexCachePath(workspace, root), 'utf8')).entries)
      ).not.toContain('train/s2/r2/img3.dcm')
    })

    it('is not written without a workspace', async () => {
      await indexFolder(root)
      expect(existsSync(join(workspace, 'datasets'))).toBe(false)
    })
  })
})
