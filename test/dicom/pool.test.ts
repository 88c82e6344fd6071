import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { renderDisplay, resizeGray } from '../../common/pixels'
import { decodeFile } from '../../main/core/dicom/decode'
import { DecodePool, DecodeSupersededError } from '../../main/core/dicom/pool'
import { pixelStats } from '../../main/core/dicom/pixel-stats'
import { FileReadError } from '../../main/core/errors'
import { fixturePath } from './fixtures'

// Runs the bundled worker (out/node/decode-worker.js): `npm test` builds it first.
describe('DecodePool', () => {
  let pool: DecodePool
  beforeAll(() => {
    pool = new DecodePool({ size: 2, cacheBytes: 1024 * 1024 })
  })
  afterAll(() => pool.close())

  it('decodes in a worker exactly as in-process', async () => {
    const path = fixturePath('files/mono2_u12.jpegls.dcm')
    const [fromPool, inProcess] = await Promise.all([pool.decode(path), decodeFile(path)])
    expect(fromPool.pixels).toBeInstanceOf(Uint16Array)
    expect(fromPool.pixels).toEqual(inProcess.pixels)
    expect(fromPool.windowCenter).toEqual([1024, 2048])
  })

  it('serves a second decode of the same file from its cache', async () => {
    const path = fixturePath('files/mono2_u16.j2k.dcm')
    const first = await pool.decode(path)
    expect(await pool.decode(path)).toBe(first)
  })

  it('renders the display image and thumbnails off the main thread', async () => {
    const path = fixturePath('files/mono1_u12.rle.dcm')
    const expected = renderDisplay(await decodeFile(path))
    const display = await pool.renderDisplay(path)
    expect([display.width, display.height]).toEqual([80, 64])
    expect(display.pixels).toEqual(expected)
    // again, now from the cached decode, with a window: still identical to in-process rendering
    const window = { center: 1000, width: 500 }
    const windowed = await pool.renderDisplay(path, { window })
    expect(windowed.pixels).toEqual(renderDisplay(await decodeFile(path), { window }))
    const thumb = await pool.thumbnail(path, 40)
    expect([thumb.width, thumb.height]).toEqual([40, 32])
    // shrunk straight from stored values, yet byte for byte the shrunk display image
    expect(thumb.pixels).toEqual(resizeGray(expected, 80, 64, 40, 32))
  })

  it('spreads a burst over its workers and keeps every result', async () => {
    const files = [
      'mono2_u8.explicit',
      'mono2_u8.rle',
      'mono2_u8.jpegls',
      'mono2_u8.j2k',
      'mono2_u8.jpeg-sv1',
      'mono2_u8.jpeg-p14'
    ]
    const images = await Promise.all(files.map((f) => pool.decode(fixturePath(`files/${f}.dcm`))))
    for (const image of images) expect(image.pixels).toEqual(images[0].pixels)
  })

  it('rejects a bad file with a FileReadError naming it, and keeps working', async () => {
    const error = await pool
      .decode(fixturePath('files/unsupported.mpeg2.dcm'), 'unsupported.mpeg2.dcm')
      .catch((err) => err)
    expect(error).toBeInstanceOf(FileReadError)
    expect(error.message).toMatch(
      /^unsupported\.mpeg2\.dcm: unsupported transfer syntax 1\.2\.840\.10008\.1\.2\.4\.100/
    )
    expect((await pool.decode(fixturePath('files/mono2_s12.rle.dcm'))).pixels).toBeInstanceOf(Int16Array)
  })

  it('ships the range and auto window the viewer needs with the decode, equal to computing them here', async () => {
    const path = fixturePath('files/mono2_s16.explicit.dcm')
    const { image, stats } = await pool.decodeWithStats(path)
    expect(stats).toEqual(pixelStats(await decodeFile(path)))
    expect(await pool.decode(path)).toBe(image)
  })

  it('refuses work after close', async () => {
    const closing = new DecodePool({ size: 1 })
    await closing.close()
    await expect(closing.decode(fixturePath('files/mono2_u8.explicit.dcm'))).rejects.toThrow(/closed/)
  })
})

/** Records the order in which the pool's jobs finish: one job at a time per worker, so it is the run order. */
function finishOrder() {
  const order: string[] = []
  const track = <T>(name: string, job: Promise<T>) =>
    job.then(
      (value) => {
        order.push(name)
        return value
      },
      (err: unknown) => {
        order.push(`${name}!`)
        throw err
      }
    )
  return { order, track }
}

const THUMBNAIL_SOURCES = [
  'mono2_u12.explicit',
  'mono2_u16.explicit',
  'mono2_s12.explicit',
  'mono2_s16.explicit'
]

describe('DecodePool priorities', () => {
  it('runs an explicitly requested image before thumbnails queued ahead of it', async () => {
    const pool = new DecodePool({ size: 1 })
    try {
      const { order, track } = finishOrder()
      const thumbnails = THUMBNAIL_SOURCES.map((name, i) =>
        track(`thumbnail ${i + 1}`, pool.thumbnail(fixturePath(`files/${name}.dcm`), 32))
      )
      // the user selects an image while four thumbnails are queued (the first already running)
      const selected = track('selected', pool.decode(fixturePath('files/mono2_u12.jpegls.dcm')))
      await Promise.all([...thumbnails, selected])
      expect(order).toEqual(['thumbnail 1', 'selected', 'thumbnail 2', 'thumbnail 3', 'thumbnail 4'])
    } finally {
      await pool.close()
    }
  })

  it('keeps a worker for the selected image: background work never starts beside it', async () => {
    const pool = new DecodePool({ size: 2 })
    try {
      const { order, track } = finishOrder()
      const thumbnails = THUMBNAIL_SOURCES.slice(0, 3).map((name, i) =>
        track(`thumbnail ${i + 1}`, pool.thumbnail(fixturePath(`files/${name}.dcm`), 32))
      )
      const selected = track('selected', pool.decode(fixturePath('files/mono2_u16.jpegls.dcm')))
      await Promise.all([...thumbnails, selected])
      // thumbnails use one worker at a time, so the selected image starts at once on the other and
      // the next thumbnail waits for it
      expect(order.indexOf('selected')).toBeLessThan(order.indexOf('thumbnail 2'))
      expect(order.filter((name) => name.startsWith('thumbnail'))).toEqual([
        'thumbnail 1',
        'thumbnail 2',
        'thumbnail 3'
      ])
    } finally {
      await pool.close()
    }
  })

  it('drops prefetches left queued when the user selects another image, but serves one it selects', async () => {
    const pool = new DecodePool({ size: 1 })
    try {
      const busy = pool.thumbnail(fixturePath('files/mono2_u16.explicit.dcm'), 32)
      const stale = pool.decode(fixturePath('files/mono2_u12.rle.dcm'), 'train/s/1/stale.dcm', {
        priority: 'prefetch'
      })
      const neighbour = pool.decode(fixturePath('files/mono2_u12.j2k.dcm'), 'train/s/1/next.dcm', {
        priority: 'prefetch'
      })
      // the user selects the neighbour while both prefetches still wait behind the thumbnail
      const selected = pool.decode(fixturePath('files/mono2_u12.j2k.dcm'), 'train/s/1/next.dcm')
      const dropped = await stale.catch((err: unknown) => err)
      expect(dropped).toBeInstanceOf(DecodeSupersededError)
      expect((dropped as Error).message).toMatch(/^train\/s\/1\/stale\.dcm: /)
      const [shown, prefetched] = await Promise.all([selected, neighbour, busy])
      expect(prefetched).toBe(shown)
      expect(shown.pixels).toEqual((await decodeFile(fixturePath('files/mono2_u12.j2k.dcm'))).pixels)
      // a dropped prefetch is not remembered as a failure: asking again decodes the file
      const again = await pool.decode(fixturePath('files/mono2_u12.rle.dcm'))
      expect(again.pixels).toEqual((await decodeFile(fixturePath('files/mono2_u12.rle.dcm'))).pixels)
    } finally {
      await pool.close()
    }
  })

  it('does not cache background decodes, so a pixel check cannot flush the images the user viewed', async () => {
    const pool = new DecodePool({ size: 1 })
    try {
      const path = fixturePath('files/mono2_u12.explicit.dcm')
      const background = await pool.decode(path, path, { priority: 'background' })
      const viewed = await pool.decode(path)
      expect(viewed).not.toBe(background)
      expect(viewed.pixels).toEqual(background.pixels)
      expect(await pool.decode(path, path, { priority: 'background' })).toBe(viewed)
    } finally {
      await pool.close()
    }
  })
})

describe('DecodePool.warm', () => {
  it('starts every worker and loads the codecs of the dataset before the first image is asked for', async () => {
    const pool = new DecodePool({ size: 2 })
    try {
      const warmed = await pool.warm([
        '1.2.840.10008.1.2.1', // explicit little endian: no codec to load
        '1.2.840.10008.1.2.4.80', // JPEG-LS lossless
        '1.2.840.10008.1.2.4.81' // JPEG-LS near-lossless: the same codec
      ])
      expect(warmed.threadIds).toHaveLength(2)
      expect(new Set(warmed.threadIds).size).toBe(2)
      expect(warmed.codecs).toEqual(['@cornerstonejs/codec-charls/decodewasmjs'])
      const path = fixturePath('files/mono2_u12.jpegls.dcm')
      expect((await pool.decode(path)).pixels).toEqual((await decodeFile(path)).pixels)
      // the decode ran on a warmed worker: warming again finds the same threads, nothing new started
      expect((await pool.warm()).threadIds).toEqual(warmed.threadIds)
    } finally {
      await pool.close()
    }
  })
})
