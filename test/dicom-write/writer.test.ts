import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { UserError } from '../../main/core/errors'
import {
  SOP_CLASS,
  IMPLEMENTATION_CLASS_UID,
  WRITE_SYNTAXES,
  WRITE_SYNTAX_NAMES,
  writeDicom,
  type DicomImage,
  type WriteSyntax
} from '../../main/core/dicom/write'
import { dcmdumpProblems, missingTools, readWithPydicom, runTool } from './tools'

const skipReason = missingTools()
if (skipReason) console.warn(`dicom-write tests skipped: ${skipReason}`)

/** Smooth anatomy-like gradients plus noise, touching both ends of the stored range. */
function testPixels(
  rows: number,
  columns: number,
  bitsStored: number,
  signed: boolean,
  seed: number
): number[] {
  const max = 2 ** bitsStored - 1
  let state = seed
  const noise = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 0.06
  const values: number[] = []
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < columns; x++) {
      const smooth = 0.5 + 0.35 * Math.sin(x / 9) * Math.cos(y / 7) + 0.1 * (x / columns)
      const v = Math.round(Math.min(1, Math.max(0, smooth + noise())) * max)
      values.push(signed ? v - 2 ** (bitsStored - 1) : v)
    }
  }
  values[0] = signed ? -(2 ** (bitsStored - 1)) : 0
  values[1] = signed ? 2 ** (bitsStored - 1) - 1 : max
  return values
}

const ROWS = 47
const COLUMNS = 61 // odd rows x columns: 8-bit pixel data needs a pad byte

function image(
  kind: 'u16' | 'u8' | 's16',
  photometric: DicomImage['photometric'] = 'MONOCHROME2'
): DicomImage {
  const bitsStored = kind === 'u8' ? 8 : 12
  const values = testPixels(ROWS, COLUMNS, bitsStored, kind === 's16', kind.length * 7 + bitsStored)
  const pixels =
    kind === 'u8'
      ? Uint8Array.from(values)
      : kind === 'u16'
        ? Uint16Array.from(values)
        : Int16Array.from(values)
  return {
    rows: ROWS,
    columns: COLUMNS,
    bitsAllocated: kind === 'u8' ? 8 : 16,
    bitsStored,
    pixelRepresentation: kind === 's16' ? 1 : 0,
    photometric,
    pixels,
    rescaleSlope: kind === 's16' ? 1 : undefined,
    rescaleIntercept: kind === 's16' ? -1024 : undefined,
    windowCenter: kind === 'u8' ? 127.5 : 2048,
    windowWidth: kind === 'u8' ? 256 : 4096,
    studyInstanceUid: '2.25.1001',
    seriesInstanceUid: '2.25.1001.2',
    sopInstanceUid: `2.25.1001.2.${kind.length}${bitsStored}`,
    patientId: 'c0ffee123456',
    modality: kind === 'u8' ? 'CR' : 'DX'
  }
}

/** The tools that turn each syntax back into native pixels; every one must give our pixels back. */
const DECODERS: Record<WriteSyntax, Array<{ tool: string; args: (src: string, dst: string) => string[] }>> = {
  'explicit-le': [{ tool: 'dcmconv', args: (s, d) => ['+te', s, d] }],
  'implicit-le': [{ tool: 'dcmconv', args: (s, d) => ['+te', s, d] }],
  'explicit-be': [{ tool: 'dcmconv', args: (s, d) => ['+te', s, d] }],
  deflated: [{ tool: 'dcmconv', args: (s, d) => ['+te', s, d] }],
  rle: [
    { tool: 'dcmdrle', args: (s, d) => [s, d] },
    { tool: 'gdcmconv', args: (s, d) => ['--raw', s, d] }
  ],
  'jpeg-ls-lossless': [
    { tool: 'dcmdjpls', args: (s, d) => [s, d] },
    { tool: 'gdcmconv', args: (s, d) => ['--raw', s, d] }
  ],
  'jpeg-ls-near-lossless': [
    { tool: 'dcmdjpls', args: (s, d) => [s, d] },
    { tool: 'gdcmconv', args: (s, d) => ['--raw', s, d] }
  ],
  'j2k-lossless': [{ tool: 'gdcmconv', args: (s, d) => ['--raw', s, d] }],
  'j2k-lossy': [{ tool: 'gdcmconv', args: (s, d) => ['--raw', s, d] }],
  'jpeg-baseline': [
    { tool: 'dcmdjpeg', args: (s, d) => [s, d] },
    { tool: 'gdcmconv', args: (s, d) => ['--raw', s, d] }
  ]
}

/** pydicom decodes these itself (numpy and its RLE handler), a third independent reader. */
const PYDICOM_DIRECT = new Set<WriteSyntax>(['explicit-le', 'implicit-le', 'explicit-be', 'deflated', 'rle'])

function kindsFor(syntax: WriteSyntax): Array<'u16' | 'u8' | 's16'> {
  return syntax === 'jpeg-baseline' ? ['u8'] : ['u16', 'u8', 's16']
}

/** A stored value as DICOM defines it: only the low BitsStored bits count (tools differ in what they put above). */
function storedValues(values: ArrayLike<number>, bitsStored: number, signed: boolean): number[] {
  const mask = 2 ** bitsStored - 1
  const sign = 2 ** (bitsStored - 1)
  return Array.from(values, (v) => {
    const bits = v & mask
    return signed && bits >= sign ? bits - 2 ** bitsStored : bits
  })
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let max = 0
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]))
  return max
}

function rmse(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0
  for (let i = 0; i < a.length; i++) sum += (a[i] - b[i]) ** 2
  return Math.sqrt(sum / a.length)
}

describe.skipIf(skipReason !== null)('writeDicom round-trips through dcmtk, gdcm and pydicom', () => {
  let dir: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cxr-dicom-write-'))
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  for (const syntax of WRITE_SYNTAX_NAMES) {
    it(`${syntax}: dcmdump reads it cleanly and every decoder returns the written pixels`, async () => {
      const written = new Map<string, DicomImage>()
      const decoded: string[] = []
      for (const kind of kindsFor(syntax)) {
        const source = image(kind, kind === 'u16' ? 'MONOCHROME1' : 'MONOCHROME2')
        const file = join(dir, `${syntax}-${kind}.dcm`)
        writeFileSync(
          file,
          await writeDicom(source, syntax, { fragmentSize: syntax === 'rle' ? undefined : 512 })
        )
        expect(dcmdumpProblems(file)).toBeNull()
        written.set(file, source)
        if (PYDICOM_DIRECT.has(syntax)) decoded.push(file)
        for (const decoder of DECODERS[syntax]) {
          const out = join(dir, `${syntax}-${kind}.${decoder.tool}.dcm`)
          const result = runTool(decoder.tool, decoder.args(file, out))
          expect(result.status, `${decoder.tool} ${file}: ${result.stderr}`).toBe(0)
          written.set(out, source)
          decoded.push(out)
        }
      }

      const images = readWithPydicom(decoded)
      expect(images).toHaveLength(decoded.length)
      for (const read of images) {
        expect(read.error, read.path).toBeUndefined()
        const source = written.get(read.path)!
        expect([read.rows, read.columns, read.bitsStored, read.pixelRepresentation], read.path).toEqual([
          source.rows,
          source.columns,
          source.bitsStored,
          source.pixelRepresentation
        ])
        expect(read.photometric, read.path).toBe(source.photometric)
        const pixels = storedValues(read.pixels!, source.bitsStored, source.pixelRepresentation === 1)
        if (syntax === 'jpeg-ls-near-lossless') {
          expect(maxAbsDiff(pixels, source.pixels), read.path).toBeLessThanOrEqual(2) // NEAR bounds every pixel
        } else if (syntax === 'j2k-lossy') {
          expect(rmse(pixels, source.pixels) / 2 ** source.bitsStored, read.path).toBeLessThan(0.02)
        } else if (syntax === 'jpeg-baseline') {
          expect(rmse(pixels, source.pixels), read.path).toBeLessThan(4)
        } else {
          expect(maxAbsDiff(pixels, source.pixels), read.path).toBe(0)
          expect(pixels).toEqual(Array.from(source.pixels))
        }
      }
    })
  }

  it('rle: runs longer than 128, rows of literals and repeats crossing rows all decode exactly', async () => {
    const rows = 4
    const columns = 301
    const pixels = new Uint16Array(rows * columns)
    for (let x = 0; x < columns; x++) {
      pixels[x] = 0x0707 // one value for the whole row: replicate runs of 128 + 128 + 45
      pixels[columns + x] = (x * 131) & 0xffff // no two neighbours alike
      pixels[2 * columns + x] = x < 150 ? 0x0707 : (x >> 1) * 3 // runs of 2 inside literals
      pixels[3 * columns + x] = 0x0707 // same value as the row above: runs must restart at the row
    }
    const source: DicomImage = { ...image('u16'), rows, columns, bitsStored: 16, pixels }
    const file = join(dir, 'rle-runs.dcm')
    writeFileSync(file, await writeDicom(source, 'rle'))
    expect(dcmdumpProblems(file)).toBeNull()
    const decodedFiles = [file]
    for (const decoder of DECODERS.rle) {
      const out = join(dir, `rle-runs.${decoder.tool}.dcm`)
      expect(runTool(decoder.tool, decoder.args(file, out)).status).toBe(0)
      decodedFiles.push(out)
    }
    for (const read of readWithPydicom(decodedFiles))
      expect(Array.from(read.pixels!), read.path).toEqual(Array.from(pixels))
  })

  it('writes a correct meta group and the header a viewer needs', async () => {
    const files: string[] = []
    for (const syntax of ['explicit-le', 'implicit-le', 'explicit-be', 'deflated', 'j2k-lossy'] as const) {
      const file = join(dir, `header-${syntax}.dcm`)
      writeFileSync(file, await writeDicom(image('s16'), syntax))
      files.push(file)
    }
    const source = image('s16')
    for (const [i, read] of readWithPydicom(files, { pixels: false }).entries()) {
      const syntax = ['explicit-le', 'implicit-le', 'explicit-be', 'deflated', 'j2k-lossy'][i] as WriteSyntax
      expect(read.error).toBeUndefined()
      expect(read.transferSyntax).toBe(WRITE_SYNTAXES[syntax].uid)
      expect(read.mediaStorageSopClass).toBe(SOP_CLASS.DX)
      expect(read.sopClass).toBe(SOP_CLASS.DX)
      expect(read.implementationClassUid).toBe(IMPLEMENTATION_CLASS_UID)
      expect([read.studyInstanceUid, read.seriesInstanceUid, read.sopInstanceUid]).toEqual([
        source.studyInstanceUid,
        source.seriesInstanceUid,
        source.sopInstanceUid
      ])
      expect([read.rescaleSlope, read.rescaleIntercept, read.windowCenter, read.windowWidth]).toEqual([
        1, -1024, 2048, 4096
      ])
      expect(read.highBit).toBe(11)
      expect(read.patientId).toBe('c0ffee123456')
      expect(read.lossy).toBe(syntax === 'j2k-lossy' ? '01' : '')
    }
    // group length = bytes of the meta elements after (0002,0000), which end where the data set starts
    const bytes = await writeDicom(image('u8'), 'explicit-le')
    const groupLength = new DataView(bytes.buffer, bytes.byteOffset).getUint32(140, true)
    const firstDataTag = new DataView(bytes.buffer, bytes.byteOffset).getUint16(144 + groupLength, true)
    expect(firstDataTag).toBe(0x0008)
  })

  it('splits compressed frames into fragments after a basic offset table, but keeps RLE in one fragment', async () => {
    const j2k = join(dir, 'fragments-j2k.dcm')
    writeFileSync(j2k, await writeDicom(image('u16'), 'j2k-lossless', { fragmentSize: 300 }))
    const dump = runTool('dcmdump', [j2k]).stdout
    const items = dump.split('\n').filter((line) => line.includes('(fffe,e000)'))
    expect(items[0]).toMatch(/pi 00\\00\\00\\00 +# +4, 1 Item/) // one frame at offset 0
    expect(items.length).toBeGreaterThan(3)
    for (const item of items.slice(1)) expect(Number(/# +(\d+),/.exec(item)![1]) % 2).toBe(0)

    const rle = join(dir, 'fragments-rle.dcm')
    writeFileSync(rle, await writeDicom(image('u16'), 'rle', { fragmentSize: 300 }))
    expect(runTool('dcmdump', [rle]).stdout).toMatch(/PixelSequence #=2\)/)
  })

  it('is deterministic: the same image gives the same bytes', async () => {
    for (const syntax of WRITE_SYNTAX_NAMES) {
      const source = syntax === 'jpeg-baseline' ? image('u8') : image('u16')
      expect(
        Buffer.from(await writeDicom(source, syntax)).equals(Buffer.from(await writeDicom(source, syntax))),
        syntax
      ).toBe(true)
    }
  })
})

describe('writeDicom refuses images it cannot write faithfully', () => {
  it('rejects a value above BitsStored, naming the image and the pixel', async () => {
    const source = image('u16')
    source.pixels = Uint16Array.from(source.pixels)
    source.pixels[5] = 4096
    await expect(writeDicom(source, 'explicit-le')).rejects.toThrow(
      /2\.25\.1001\.2\.312 .*pixel 5 = 4096 is outside the 12-bit range/
    )
  })

  it('rejects 16-bit pixels for JPEG baseline and a pixel count that does not match the size', async () => {
    await expect(writeDicom(image('u16'), 'jpeg-baseline')).rejects.toBeInstanceOf(UserError)
    await expect(writeDicom({ ...image('u8'), rows: ROWS + 1 }, 'explicit-le')).rejects.toThrow(
      /2867 pixels for a 61x48 image/
    )
  })

  it('rejects UIDs that are not digits and dots', async () => {
    await expect(
      writeDicom({ ...image('u8'), studyInstanceUid: '00086460a852' }, 'explicit-le')
    ).rejects.toThrow(/"00086460a852" is not a DICOM UID/)
  })
})
