import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { renderDisplay } from '../../common/pixels'
import { decodeFile } from '../../main/core/dicom/decode'
import { DecodePool } from '../../main/core/dicom/pool'
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

  it('refuses work after close', async () => {
    const closing = new DecodePool({ size: 1 })
    await closing.close()
    await expect(closing.decode(fixturePath('files/mono2_u8.explicit.dcm'))).rejects.toThrow(/closed/)
  })
})
