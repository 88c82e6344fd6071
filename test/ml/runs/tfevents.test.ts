import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { EventFile } from '../../../main/ml/runs/event-file'
import { crc32c, readScalars } from '../../../main/ml/runs/tfevents'

const PYTHON = '/usr/bin/python3'

async function writeSample(dir: string): Promise<string> {
  const events = await EventFile.open(dir)
  events.add(1, { 'train/total': 2.5, 'val/total': 3.25, final: 0.125 }, 1700000000.5)
  events.add(2, { 'train/total': 1.75, 'val/total': 2.5, final: 0.5 }, 1700000010)
  events.add(1000, { 'step/lr': 1e-3 }, 1700000011)
  await events.flush()
  return events.path
}

describe('TensorBoard event files', () => {
  it('CRC32C matches the standard check value', () => {
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283)
  })

  it('re-parses to the same scalars, steps and wall times', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cxr-tfevents-'))
    const path = await writeSample(dir)
    expect((await readdir(dir)).filter((f) => f.startsWith('events.out.tfevents.'))).toHaveLength(1)
    const scalars = readScalars(new Uint8Array(await readFile(path)))
    expect(scalars.map((s) => [s.tag, s.step, s.value])).toEqual([
      ['train/total', 1, 2.5],
      ['val/total', 1, 3.25],
      ['final', 1, 0.125],
      ['train/total', 2, 1.75],
      ['val/total', 2, 2.5],
      ['final', 2, 0.5],
      ['step/lr', 1000, Math.fround(1e-3)]
    ])
    expect(scalars[0].wallTime).toBe(1700000000.5)
  })

  it('refuses a file with a corrupted byte (CRC check)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cxr-tfevents-'))
    const path = await writeSample(dir)
    const bytes = new Uint8Array(await readFile(path))
    bytes[bytes.length - 8] ^= 0xff
    expect(() => readScalars(bytes)).toThrow(/CRC/)
  })

  it('a reopened file keeps what `keep` accepts and appends after it (resume)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cxr-tfevents-'))
    await writeSample(dir)
    const reopened = await EventFile.open(dir, (step) => step <= 1)
    reopened.add(2, { 'train/total': 9 })
    await reopened.flush()
    const scalars = readScalars(new Uint8Array(await readFile(reopened.path)))
    expect(scalars.filter((s) => s.step === 2).map((s) => s.value)).toEqual([9])
    expect(scalars.filter((s) => s.step === 1)).toHaveLength(3)
  })

  it.skipIf(!existsSync(PYTHON))(
    'an independent Python reader (own CRC32C and protobuf decoding) reads the same file',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'cxr-tfevents-'))
      const path = await writeSample(dir)
      const out = execFileSync(PYTHON, [join(__dirname, 'read_tfevents.py'), path], { encoding: 'utf8' })
      const lines = out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
      expect(lines[0]).toEqual({ file_version: 'brain.Event:2' })
      expect(lines.slice(1).map((l) => [l.tag, l.step, l.value])).toEqual([
        ['train/total', 1, 2.5],
        ['val/total', 1, 3.25],
        ['final', 1, 0.125],
        ['train/total', 2, 1.75],
        ['val/total', 2, 2.5],
        ['final', 2, 0.5],
        ['step/lr', 1000, Math.fround(1e-3)]
      ])
      // and it notices corruption too
      const bytes = new Uint8Array(await readFile(path))
      bytes[20] ^= 0x01
      await writeFile(join(dir, 'corrupt'), bytes)
      expect(() =>
        execFileSync(PYTHON, [join(__dirname, 'read_tfevents.py'), join(dir, 'corrupt')], { stdio: 'pipe' })
      ).toThrow()
    }
  )
})
