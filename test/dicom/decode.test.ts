import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { modalityValues } from '../../common/pixels'
import { decodeBytes, decodeFile } from '../../main/core/dicom/decode'
import { FileReadError } from '../../main/core/errors'
import { READABLE_SYNTAXES, fixturePath, fixtures, maxAbsDiff, reference } from './fixtures'

const lossless = fixtures.filter((f) => f.lossless)
const lossy = fixtures.filter((f) => !f.lossless)
const withPydicom = fixtures.filter((f) => f.pydicom)

describe('decodeFile: every transfer syntax', () => {
  it('covers all thirteen syntaxes of the brief in the fixtures', () => {
    const syntaxes = new Set(fixtures.map((f) => f.transferSyntaxUid))
    for (const uid of READABLE_SYNTAXES) {
      expect(syntaxes, uid).toContain(uid)
    }
  })

  it.each(lossless.map((f) => [f.file, f] as const))('%s decodes pixel-exact', async (_name, fixture) => {
    const image = await decodeFile(fixturePath(fixture), fixture.file)
    expect(image.transferSyntaxUid).toBe(fixture.transferSyntaxUid)
    expect(maxAbsDiff(image.pixels, reference(fixture.stored))).toBe(0)
    expect(maxAbsDiff(modalityValues(image), reference(fixture.original))).toBe(0)
  })

  it.each(lossy.map((f) => [f.file, f] as const))(
    '%s equals the reference codec exactly and the original within tolerance',
    async (_name, fixture) => {
      const image = await decodeFile(fixturePath(fixture), fixture.file)
      const values = modalityValues(image)
      expect(maxAbsDiff(values, reference(fixture.codec!)), `vs ${fixture.codecTool}`).toBe(0)
      const error = maxAbsDiff(values, reference(fixture.original))
      expect(error).toBeGreaterThan(0) // really lossy: the fixture exercises the lossy path
      expect(error).toBeLessThanOrEqual(fixture.tolerance!)
    }
  )

  it.each(withPydicom.map((f) => [f.file, f] as const))(
    "%s equals pydicom's pixel_array with its modality LUT",
    async (_name, fixture) => {
      const values = modalityValues(await decodeFile(fixturePath(fixture), fixture.file))
      expect(maxAbsDiff(values, reference(fixture.pydicom!))).toBe(0)
    }
  )
})

describe('decodeFile: stored values', () => {
  const decode = (file: string) => decodeFile(fixturePath(`files/${file}`), file)

  it('sign-extends 12-bit signed values stored in 16 bits', async () => {
    const image = await decode('mono2_s12.explicit.dcm')
    expect(image.pixels).toBeInstanceOf(Int16Array)
    expect(Math.min(...image.pixels)).toBe(-2048)
    expect(Math.max(...image.pixels)).toBe(2047)
  })

  it('keeps the full signed 16-bit range and applies a fractional rescale as float32', async () => {
    const image = await decode('mono2_s16.jpegls.dcm')
    expect(Math.min(...image.pixels)).toBe(-32768)
    expect(Math.max(...image.pixels)).toBe(32767)
    const values = modalityValues(image)
    expect(values).toBeInstanceOf(Float32Array)
    expect(Math.min(...values)).toBe(-32768 * 0.5 - 10.25)
  })

  it('masks junk above Bits Stored (overlay bits in a 10-bit image)', async () => {
    const image = await decode('mono2_u10_junk.explicit.dcm')
    expect(Math.max(...image.pixels)).toBe(1023)
    expect(
      maxAbsDiff(image.pixels, reference(fixtures.find((f) => f.image === 'mono2_u10_junk')!.stored))
    ).toBe(0)
  })

  it('returns frame 0 of a multi-frame image, native and RLE', async () => {
    for (const file of ['mono2_u8_2frames.explicit.dcm', 'mono2_u8_2frames.rle.dcm']) {
      const image = await decode(file)
      expect([image.rows, image.columns]).toEqual([32, 40])
      expect(
        maxAbsDiff(image.pixels, reference(fixtures.find((f) => f.file === `files/${file}`)!.stored))
      ).toBe(0)
    }
  })

  it('reads the VOI LUT sequence', async () => {
    const image = await decode('mono2_u12_voilut.explicit.dcm')
    expect(image.voiLut).not.toBeNull()
    expect(image.voiLut!.firstMapped).toBe(512)
    expect(image.voiLut!.bits).toBe(12)
    expect(image.voiLut!.data.length).toBe(1024)
    expect(image.voiLut!.data[1023]).toBe(4095)
    expect(image.voiLut!.explanation).toBe('FIXTURE SQRT')
  })

  it('names the file and the syntax when the transfer syntax is unsupported', async () => {
    const error = await decode('unsupported.mpeg2.dcm').catch((err) => err)
    expect(error).toBeInstanceOf(FileReadError)
    expect(error.message).toBe(
      'unsupported.mpeg2.dcm: unsupported transfer syntax 1.2.840.10008.1.2.4.100 (MPEG2 Main Profile)'
    )
  })

  it('reports a corrupt compressed frame as a FileReadError naming the file', async () => {
    const bytes = new Uint8Array(readFileSync(fixturePath('files/mono2_u12.jpegls.dcm')))
    // overwrite the JPEG-LS stream after its header with garbage (the fragment stays the same length)
    const soi = bytes.findIndex((b, i) => b === 0xff && bytes[i + 1] === 0xd8 && bytes[i + 2] === 0xff)
    for (let i = soi + 40; i < bytes.length - 10; i++) bytes[i] = (i * 7) & 0xff
    const error = await decodeBytes(bytes, 'broken.dcm').catch((err) => err)
    expect(error).toBeInstanceOf(FileReadError)
    expect(error.message).toMatch(/^broken\.dcm: /)
  })
})
