// A deflated file that inflates far beyond what its image needs (a decompression bomb) is refused
// with the reason, by the indexer and by the decoder, without ever holding the inflated bytes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { readDicomTags } from '../../main/backend/viewer/dicom-tags'
import { decodeFile } from '../../main/core/dicom/decode'
import { indexFolder } from '../../main/core/dicom/index-folder'
import { FileReadError } from '../../main/core/errors'
import { CLI } from '../cli'
import { deflatedWithZeros } from './deflated'
import { fixturePath } from './fixtures'

const MB = 1024 * 1024
/** The zeros each bomb holds: 200 MB inflated from about 200 KB on disk. */
const BOMB = 200 * MB

describe('deflated data sets that inflate far beyond their image', () => {
  let dir: string
  let workspace: string
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cxr-bomb-'))
    workspace = mkdtempSync(join(tmpdir(), 'cxr-bomb-ws-'))
    mkdirSync(join(dir, 'scans'))
    writeFileSync(join(dir, 'scans', 'before.dcm'), await deflatedWithZeros('before-pixels', BOMB))
    writeFileSync(join(dir, 'scans', 'after.dcm'), await deflatedWithZeros('after-pixels', BOMB))
    copyFileSync(fixturePath('files/mono2_u8.deflated.dcm'), join(dir, 'scans', 'plain.dcm'))
    // prints the child's peak resident memory (kB) when it exits
    writeFileSync(
      join(workspace, 'peak-rss.mjs'),
      "process.on('exit', () => process.stderr.write(`peak-rss-kb=${process.resourceUsage().maxRSS}\\n`))\n"
    )
  }, 120_000)
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true })
    rmSync(workspace, { recursive: true, force: true })
  })

  /** `cxr-studio ARGS` in a child process: exit code, stderr, and its peak RSS in MB. */
  const runMeasured = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string; peakMb: number }>((resolve) => {
      const hook = pathToFileURL(join(workspace, 'peak-rss.mjs')).href
      execFile(
        process.execPath,
        ['--import', hook, CLI, '--workspace', join(workspace, 'ws'), ...args],
        { maxBuffer: 16 * MB },
        (err, stdout, stderr) => {
          const kb = Number(/peak-rss-kb=(\d+)/.exec(stderr)?.[1] ?? NaN)
          resolve({
            code: err ? ((err as { code?: number }).code ?? 1) : 0,
            stdout,
            stderr,
            peakMb: kb / 1024
          })
        }
      )
    })

  it('the files are small on disk', () => {
    // guards the test itself: the point is a small file with a huge inflated size
    for (const name of ['before.dcm', 'after.dcm']) {
      expect(statSync(join(dir, 'scans', name)).size).toBeLessThan(BOMB / 500)
    }
  })

  it('indexing lists a file whose header inflates beyond the allowance as unreadable, naming the reason', async () => {
    const index = await indexFolder(dir)
    expect(index.errors).toEqual([
      {
        path: 'scans/before.dcm',
        reason: 'deflated data set inflates beyond 16 MB before its pixel data, more than any header needs'
      }
    ])
    // header-only: the bytes after the pixel data are never inflated, so that file's header is fine
    expect(index.images.map((image) => image.path)).toEqual(['scans/after.dcm', 'scans/plain.dcm'])
  })

  it('decoding fails with the reason for either file, and the plain file still decodes', async () => {
    const before = await decodeFile(join(dir, 'scans', 'before.dcm'), 'scans/before.dcm').catch((err) => err)
    expect(before).toBeInstanceOf(FileReadError)
    expect(before.message).toBe(
      'scans/before.dcm: deflated data set inflates beyond 16 MB before its pixel data, more than any header needs'
    )
    const after = await decodeFile(join(dir, 'scans', 'after.dcm'), 'scans/after.dcm').catch((err) => err)
    expect(after).toBeInstanceOf(FileReadError)
    expect(after.message).toBe(
      'scans/after.dcm: deflated data set inflates beyond 16.0 MB, more than its image needs ' +
        '(64 x 48 pixels, 1 sample(s), 8 bits, 1 frame(s) = 3.0 kB, plus 16 MB for the other elements)'
    )
    const plain = await decodeFile(join(dir, 'scans', 'plain.dcm'), 'scans/plain.dcm')
    expect([plain.columns, plain.rows]).toEqual([64, 48])
  })

  it("the viewer's tag panel reads the header under the same cap", async () => {
    const before = await readDicomTags(join(dir, 'scans', 'before.dcm'), 'scans/before.dcm').catch(
      (err) => err
    )
    expect(before).toBeInstanceOf(FileReadError)
    expect(before.reason).toBe(
      'deflated data set inflates beyond 16 MB before its pixel data, more than any header needs'
    )
    const after = await readDicomTags(join(dir, 'scans', 'after.dcm'), 'scans/after.dcm')
    expect(after.find((tag) => tag.tag === '(0028,0010)')?.value).toBe('48')
    expect(after.find((tag) => tag.tag === '(0002,0010)')?.value).toBe('1.2.840.10008.1.2.1.99')
  })

  it('cxr-studio index and decode stay far below the inflated size in memory', async () => {
    const baseline = await runMeasured([
      'decode',
      join(dir, 'scans', 'plain.dcm'),
      '--npy',
      join(workspace, 'plain.npy')
    ])
    expect(baseline.code).toBe(0)

    const index = await runMeasured(['index', dir, '--json'])
    expect(index.code).toBe(0)
    expect(JSON.parse(index.stdout).errors).toHaveLength(1)
    for (const name of ['before.dcm', 'after.dcm']) {
      const decode = await runMeasured([
        'decode',
        join(dir, 'scans', name),
        '--npy',
        join(workspace, 'x.npy')
      ])
      expect(decode.code).toBe(1)
      expect(decode.stderr).toMatch(/inflates beyond 16(\.0)? MB/)
      // the bomb inflates to 200 MB; refusing it may cost the allowance (16 MB) two or three times over, never the bomb
      expect(decode.peakMb - baseline.peakMb).toBeLessThan(64)
    }
    expect(index.peakMb - baseline.peakMb).toBeLessThan(64)
  }, 60_000)
})
