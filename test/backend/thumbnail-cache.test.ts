// The workspace's on-disk thumbnail cache stays within its bound, least recently used first.
import { mkdtempSync, readdirSync, rmSync, statSync, utimesSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { GrayImage } from '../../common/pixels'
import { cachedThumbnail, type ImageDecoder } from '../../main/backend/viewer/pixels'
import { ThumbnailCache } from '../../main/backend/viewer/thumbnail-cache'

const SIZE = 16
/** One cached 16 × 16 thumbnail: 8 header bytes and the grey bytes. */
const FILE_BYTES = 8 + SIZE * SIZE

/** A decoder that draws a gradient per source file and counts how often it was asked. */
function countingDecoder(): ImageDecoder & { made: Map<string, number> } {
  const made = new Map<string, number>()
  const thumbnail = async (absPath: string): Promise<GrayImage> => {
    made.set(absPath, (made.get(absPath) ?? 0) + 1)
    const seed = absPath.length * 7 + absPath.charCodeAt(absPath.length - 5)
    const pixels = Uint8Array.from({ length: SIZE * SIZE }, (_, i) => (seed + i) & 0xff)
    return { width: SIZE, height: SIZE, pixels }
  }
  const unused = () => Promise.reject(new Error('not used by thumbnails'))
  return {
    made,
    thumbnail,
    decode: unused,
    decodeWithStats: unused,
    preview: unused,
    warm: unused,
    close: async () => {}
  }
}

/** Every cached thumbnail file in the workspace, with its size. */
function filesOnDisk(workspace: string): Map<string, number> {
  const files = new Map<string, number>()
  const datasets = join(workspace, 'datasets')
  for (const dataset of readdirSync(datasets)) {
    const root = join(datasets, dataset, 'thumbnails')
    for (const size of readdirSync(root))
      for (const name of readdirSync(join(root, size))) {
        const file = join(root, size, name)
        files.set(file, statSync(file).size)
      }
  }
  return files
}

const totalOnDisk = (workspace: string) => [...filesOnDisk(workspace).values()].reduce((a, b) => a + b, 0)

let workspace: string
beforeEach(() => {
  workspace = mkdtempSync(join(tmpdir(), 'cxr-thumbs-'))
})
afterEach(() => rmSync(workspace, { recursive: true, force: true }))

describe('thumbnail cache in the workspace', () => {
  const datasetA = () => join(workspace, 'datasets', 'aaaaaaaaaaaaaaaa')
  const datasetB = () => join(workspace, 'datasets', 'bbbbbbbbbbbbbbbb')
  const source = (name: string, mtimeMs = 1000) => ({
    absPath: `/data/train/${name}.dcm`,
    relPath: `train/${name}.dcm`,
    mtimeMs
  })

  it('stays within its bound across datasets, dropping the least recently used thumbnails', async () => {
    const bound = 4 * FILE_BYTES
    const cache = new ThumbnailCache(workspace, bound)
    const decoder = countingDecoder()
    const thumb = (dir: string, name: string) => cachedThumbnail(decoder, cache, dir, source(name), SIZE)

    await thumb(datasetA(), 'first')
    await thumb(datasetA(), 'second')
    await thumb(datasetB(), 'third')
    await thumb(datasetB(), 'fourth')
    expect(totalOnDisk(workspace)).toBe(4 * FILE_BYTES)
    // the user scrolls back to the first image: served from disk, and now the most recently used
    const again = await thumb(datasetA(), 'first')
    expect(decoder.made.get('/data/train/first.dcm')).toBe(1)
    expect(again.meta).toEqual({ width: SIZE, height: SIZE })

    await thumb(datasetB(), 'fifth')
    expect(totalOnDisk(workspace)).toBeLessThanOrEqual(bound)
    expect(cache.bytes).toBe(totalOnDisk(workspace))
    // 'second' was the least recently used; 'first' (just read) and 'fifth' (just made) stay
    const kept = await Promise.all(
      ['first', 'fifth'].map((name) => thumb(name === 'first' ? datasetA() : datasetB(), name))
    )
    expect(kept.map((t) => t.data.length)).toEqual([SIZE * SIZE, SIZE * SIZE])
    expect(decoder.made.get('/data/train/first.dcm')).toBe(1)
    expect(decoder.made.get('/data/train/fifth.dcm')).toBe(1)
    // an evicted thumbnail is simply made again, identical to the first time
    const second = await thumb(datasetA(), 'second')
    expect(decoder.made.get('/data/train/second.dcm')).toBe(2)
    expect(second.data).toEqual((await decoder.thumbnail('/data/train/second.dcm', SIZE)).pixels)
    expect(totalOnDisk(workspace)).toBeLessThanOrEqual(bound)
  })

  it('remembers the order of use across restarts, from the files left in the workspace', async () => {
    const decoder = countingDecoder()
    const earlier = new ThumbnailCache(workspace, 100 * FILE_BYTES)
    for (const name of ['a', 'b', 'c', 'd'])
      await cachedThumbnail(decoder, earlier, datasetA(), source(name), SIZE)
    // last used long ago in this order: c, a, d, b
    const files = [...filesOnDisk(workspace).keys()]
    const fileOf = (name: string) => earlier.fileFor(datasetA(), source(name), SIZE)
    expect(files.sort()).toEqual(['a', 'b', 'c', 'd'].map(fileOf).sort())
    const day = 86_400
    const now = Date.now() / 1000
    ;['c', 'a', 'd', 'b'].forEach((name, i) =>
      utimesSync(fileOf(name), now - (10 - i) * day, now - (10 - i) * day)
    )

    // a new session with a smaller bound: its first write evicts what was used longest ago
    const later = new ThumbnailCache(workspace, 3 * FILE_BYTES)
    await cachedThumbnail(decoder, later, datasetB(), source('e'), SIZE)
    const left = filesOnDisk(workspace)
    expect(totalOnDisk(workspace)).toBeLessThanOrEqual(3 * FILE_BYTES)
    expect(left.has(fileOf('c'))).toBe(false)
    expect(left.has(fileOf('a'))).toBe(false)
    expect(left.has(fileOf('b'))).toBe(true)
    expect(left.has(later.fileFor(datasetB(), source('e'), SIZE))).toBe(true)
  })

  it('makes a new thumbnail when the DICOM file changes', async () => {
    const decoder = countingDecoder()
    const cache = new ThumbnailCache(workspace)
    await cachedThumbnail(decoder, cache, datasetA(), source('x', 1000), SIZE)
    await cachedThumbnail(decoder, cache, datasetA(), source('x', 1000), SIZE)
    expect(decoder.made.get('/data/train/x.dcm')).toBe(1)
    await cachedThumbnail(decoder, cache, datasetA(), source('x', 2000), SIZE)
    expect(decoder.made.get('/data/train/x.dcm')).toBe(2)
  })
})
