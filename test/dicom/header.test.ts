import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeFile } from '../../main/core/dicom/decode'
import { readHeader } from '../../main/core/dicom/header'
import { FileReadError } from '../../main/core/errors'
import { badFiles } from './bad-files'
import { fixturePath } from './fixtures'

describe('readHeader', () => {
  it.each(['explicit', 'implicit', 'bigendian', 'deflated', 'rle', 'jpeg-extended', 'jpegls', 'j2k'])(
    'reads the image facts of the %s file',
    async (syntax) => {
      const rel = `mono2_u12.${syntax}.dcm`
      const record = await readHeader(fixturePath(`files/${rel}`), rel)
      expect(record).toMatchObject({
        path: rel,
        rows: 80,
        columns: 96,
        numberOfFrames: 1,
        samplesPerPixel: 1,
        bitsAllocated: 16,
        bitsStored: 12,
        highBit: 11,
        pixelRepresentation: 0,
        photometric: 'MONOCHROME2',
        modality: 'DX',
        pixelSpacing: [0.139, 0.139],
        rescaleSlope: 1,
        rescaleIntercept: -1024
      })
      expect(record.windowCenter?.length).toBe(2)
      expect(record.size).toBeGreaterThan(0)
      expect(record.mtimeMs).toBeGreaterThan(0)
    }
  )

  it('takes the fractional rescale and the signed representation from the header', async () => {
    const record = await readHeader(fixturePath('files/mono2_s16.deflated.dcm'), 'x.dcm')
    expect(record).toMatchObject({
      pixelRepresentation: 1,
      rescaleSlope: 0.5,
      rescaleIntercept: -10.25,
      transferSyntaxUid: '1.2.840.10008.1.2.1.99'
    })
  })

  it('reports the number of frames', async () => {
    expect((await readHeader(fixturePath('files/mono2_u8_2frames.rle.dcm'), 'x.dcm')).numberOfFrames).toBe(2)
  })

  it('reads a bare data set without preamble or meta group (implicit VR little endian)', async () => {
    const bytes = readFileSync(fixturePath('files/mono2_u12.implicit.dcm'))
    // the meta group is explicit VR: (0002,0000) UL holds the length of the rest of the group
    const metaEnd = 132 + 12 + bytes.readUInt32LE(132 + 8)
    const dir = mkdtempSync(join(tmpdir(), 'cxr-raw-'))
    try {
      writeFileSync(join(dir, 'raw.dcm'), bytes.subarray(metaEnd))
      const record = await readHeader(join(dir, 'raw.dcm'), 'raw.dcm')
      expect(record).toMatchObject({
        rows: 80,
        columns: 96,
        bitsStored: 12,
        transferSyntaxUid: '1.2.840.10008.1.2'
      })
      const image = await decodeFile(join(dir, 'raw.dcm'))
      expect(image.pixels).toEqual((await decodeFile(fixturePath('files/mono2_u12.implicit.dcm'))).pixels)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  describe('ids', () => {
    let dir: string
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'cxr-header-'))
      mkdirSync(join(dir, 'train', '00086460a852', '9e8302230c91'), { recursive: true })
      copyFileSync(
        fixturePath('files/mono2_u8.explicit.dcm'),
        join(dir, 'train', '00086460a852', '9e8302230c91', '65761e66de9f.dcm')
      )
    })
    afterAll(() => rmSync(dir, { recursive: true, force: true }))

    it('come from the path in the Kaggle layout', async () => {
      const rel = 'train/00086460a852/9e8302230c91/65761e66de9f.dcm'
      const record = await readHeader(join(dir, rel), rel)
      expect(record).toMatchObject({
        studyId: '00086460a852',
        seriesId: '9e8302230c91',
        imageId: '65761e66de9f'
      })
    })

    it('come from the UIDs elsewhere', async () => {
      const record = await readHeader(fixturePath('files/mono2_u8.explicit.dcm'), 'scans/a.dcm')
      expect(record.studyId).toBe('1.2.826.0.1.3680043.8.498.100.4864')
      expect(record.seriesId).toBe('1.2.826.0.1.3680043.8.498.100.4864.1')
      expect(record.imageId).toBe(record.sopInstanceUid)
    })
  })

  describe('bad files', () => {
    let dir: string
    const cases = badFiles()
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'cxr-bad-'))
      for (const [name, { bytes }] of Object.entries(cases)) writeFileSync(join(dir, name), bytes)
    })
    afterAll(() => rmSync(dir, { recursive: true, force: true }))

    it.each(Object.keys(cases))(
      '%s fails with a FileReadError that names the file and the reason',
      async (name) => {
        const error = await readHeader(join(dir, name), `bad/${name}`).catch((err) => err)
        expect(error).toBeInstanceOf(FileReadError)
        expect(error.path).toBe(`bad/${name}`)
        expect(error.reason).toMatch(cases[name].reason)
        expect(error.message).toBe(`bad/${name}: ${error.reason}`)
      }
    )

    it('a file whose transfer syntax cannot be decoded fails with the syntax named', async () => {
      const error = await readHeader(fixturePath('files/unsupported.mpeg2.dcm'), 'mpeg.dcm').catch(
        (err) => err
      )
      expect(error).toBeInstanceOf(FileReadError)
      expect(error.reason).toBe('unsupported transfer syntax 1.2.840.10008.1.2.4.100 (MPEG2 Main Profile)')
    })

    it('a compressed file with an element after its pixel data is whole, not truncated', async () => {
      // (FFFC,FFFC) data set trailing padding, OB, 8 bytes: the file no longer ends with the delimiter
      const padding = [0xfc, 0xff, 0xfc, 0xff, 0x4f, 0x42, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
      const file = join(dir, 'padded.dcm')
      writeFileSync(
        file,
        Buffer.concat([readFileSync(fixturePath('files/mono2_u12.jpegls.dcm')), Buffer.from(padding)])
      )
      const record = await readHeader(file, 'padded.dcm')
      expect(record.transferSyntaxUid).toBe('1.2.840.10008.1.2.4.80')
      expect((await decodeFile(file)).rows).toBe(80)
    })

    it('a missing file fails with ENOENT in the reason', async () => {
      const error = await readHeader(join(dir, 'absent.dcm'), 'absent.dcm').catch((err) => err)
      expect(error).toBeInstanceOf(FileReadError)
      expect(error.reason).toMatch(/ENOENT/)
    })
  })
})
