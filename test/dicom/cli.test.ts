import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFile, execFileSync } from 'node:child_process'
import {
  copyFileSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { PNG } from 'pngjs'
import { renderDisplay } from '../../common/pixels'
import { decodeFile } from '../../main/core/dicom/decode'
import { fixturePath, fixtures, maxAbsDiff, reference, type Fixture } from './fixtures'
import { readNpy } from './npy'

// Runs the built CLI (out/node/cli.js) as a user would: `npm test` builds it first.
const CLI = join(import.meta.dirname, '..', '..', 'bin', 'cxr-studio.mjs')
const run = async (args: string[], workspace: string) => {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [
      CLI,
      '--workspace',
      workspace,
      ...args
    ])
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

describe('cxr-studio index / decode', () => {
  let dir: string
  let workspace: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cxr-cli-'))
    workspace = mkdtempSync(join(tmpdir(), 'cxr-cli-ws-'))
    mkdirSync(join(dir, 'data/train/st1/se1'), { recursive: true })
    copyFileSync(fixturePath('files/mono2_u12.jpegls.dcm'), join(dir, 'data/train/st1/se1/im1.dcm'))
    copyFileSync(fixturePath('files/mono1_u12.j2k.dcm'), join(dir, 'data/train/st1/se1/im2.dcm'))
    writeFileSync(join(dir, 'data/train/broken.dcm'), 'hello')
  })
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true })
    rmSync(workspace, { recursive: true, force: true })
  })

  it('index --json prints only the index as JSON', async () => {
    const { code, stdout } = await run(['index', join(dir, 'data'), '--json'], workspace)
    expect(code).toBe(0)
    const index = JSON.parse(stdout)
    expect(index.images.map((i: { imageId: string }) => i.imageId)).toEqual(['im1', 'im2'])
    expect(index.images[1]).toMatchObject({
      studyId: 'st1',
      photometric: 'MONOCHROME1',
      transferSyntaxUid: '1.2.840.10008.1.2.4.90'
    })
    expect(index.errors).toEqual([
      { path: 'train/broken.dcm', reason: 'not a DICOM file: only 5 bytes, no DICM marker at byte 128' }
    ])
  })

  it('index without --json summarises syntaxes, photometrics and errors', async () => {
    const { code, stdout } = await run(['index', join(dir, 'data')], workspace)
    expect(code).toBe(0)
    expect(stdout).toMatch(/2 images, 1 errors/)
    expect(stdout).toMatch(/1 {2}JPEG-LS Lossless \(1\.2\.840\.10008\.1\.2\.4\.80\)/)
    expect(stdout).toMatch(/1 {2}MONOCHROME1/)
    expect(stdout).toMatch(/train\/broken\.dcm: not a DICOM file/)
  })

  // one fixture per syntax pydicom can decode, rotating through the images for variety
  const bySyntax = new Map<string, Fixture[]>()
  for (const f of fixtures.filter((f) => f.pydicom))
    bySyntax.set(f.syntax, [...(bySyntax.get(f.syntax) ?? []), f])
  const pydicomCases = [...bySyntax.values()].map((group, i) => group[i % group.length])
  it.each(pydicomCases.map((f) => [f.file, f] as const))(
    "decode --npy of %s equals pydicom's modality values",
    async (_name, fixture) => {
      const out = join(dir, `${fixture.image}.${fixture.syntax}.npy`)
      const { code } = await run(['decode', fixturePath(fixture), '--npy', out], workspace)
      expect(code).toBe(0)
      const npy = readNpy(out)
      const ref = readNpy(fixturePath(fixture.pydicom!))
      expect(npy.dtype).toBe(ref.dtype === '<f4' ? '<f4' : '<i4')
      expect(npy.shape).toEqual(ref.shape)
      expect(maxAbsDiff(npy.values, reference(fixture.pydicom!))).toBe(0)
    }
  )

  it('decode --display writes the display image as .npy uint8 or PNG', async () => {
    const file = fixturePath('files/mono1_u12.jpeg-extended.dcm')
    const expected = renderDisplay(await decodeFile(file))
    expect((await run(['decode', file, '--npy', join(dir, 'd.npy'), '--display'], workspace)).code).toBe(0)
    const npy = readNpy(join(dir, 'd.npy'))
    expect([npy.dtype, ...npy.shape]).toEqual(['|u1', 64, 80])
    expect(Array.from(npy.values)).toEqual(Array.from(expected))
    expect((await run(['decode', file, '--npy', join(dir, 'd.png'), '--display'], workspace)).code).toBe(0)
    const png = PNG.sync.read(readFileSync(join(dir, 'd.png')))
    expect([png.width, png.height]).toEqual([80, 64])
    expect(Array.from({ length: expected.length }, (_, i) => png.data[i * 4])).toEqual(Array.from(expected))
  })

  it('decode of an unsupported syntax exits 1 with one line naming file and syntax', async () => {
    const { code, stdout, stderr } = await run(
      ['decode', fixturePath('files/unsupported.mpeg2.dcm'), '--npy', join(dir, 'x.npy')],
      workspace
    )
    expect(code).toBe(1)
    expect(stdout).toBe('')
    expect(stderr.trim().split('\n')).toHaveLength(1)
    expect(stderr).toMatch(
      /unsupported\.mpeg2\.dcm: unsupported transfer syntax 1\.2\.840\.10008\.1\.2\.4\.100 \(MPEG2 Main Profile\)/
    )
  })

  // DESIGN rule 6: `decode --npy /dev/null` as root used to rename a regular file over the device
  it('decode --npy refuses a FIFO and a symlink to one (exit 1, the FIFO stays a FIFO)', async () => {
    const file = fixturePath('files/mono2_u8.explicit.dcm')
    const fifo = join(dir, 'out.fifo')
    execFileSync('mkfifo', [fifo])
    const link = join(dir, 'link.npy')
    symlinkSync(fifo, link)
    const direct = await run(['decode', file, '--npy', fifo], workspace)
    expect(direct.code).toBe(1)
    expect(direct.stderr).toBe(
      `cxr-studio: ${fifo}: is a FIFO (named pipe), not a regular file; only regular files are replaced\n`
    )
    const linked = await run(['decode', file, '--npy', link], workspace)
    expect(linked.code).toBe(1)
    expect(linked.stderr).toContain(`${link}: is a symbolic link to ${fifo}, a FIFO (named pipe)`)
    expect(lstatSync(fifo).isFIFO()).toBe(true)
    expect(lstatSync(link).isSymbolicLink()).toBe(true)
  })

  it('decode --npy refuses to write over its own input file', async () => {
    const input = join(dir, 'input.dcm')
    copyFileSync(fixturePath('files/mono2_u8.explicit.dcm'), input)
    const before = readFileSync(input)
    const { code, stderr } = await run(['decode', input, '--npy', input], workspace)
    expect(code).toBe(1)
    expect(stderr).toBe(`cxr-studio: ${input}: is the input file ${input}; write the output elsewhere\n`)
    expect(readFileSync(input).equals(before)).toBe(true)
  })

  it('decode without --npy is a usage error (exit 2)', async () => {
    expect((await run(['decode', fixturePath('files/mono2_u8.explicit.dcm')], workspace)).code).toBe(2)
  })
})
