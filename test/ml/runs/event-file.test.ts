// An event file whose last record was cut (a copy stopped short, a disk that filled under another
// tool) used to make `train --resume` fail with "internal error: event file: truncated record". The
// records before the cut are kept, the torn tail is dropped and said in train.log, and the run goes on.
import { readFile, readdir, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { EventFile } from '../../../main/ml/runs/event-file'
import { readIntactRecords, readScalars } from '../../../main/ml/runs/tfevents'
import { train } from '../../../main/ml/train/trainer'
import { countingSource, demoDataset, tempDir } from '../helpers'

async function sampleFile(): Promise<{ dir: string; path: string; sizes: number[] }> {
  const dir = await tempDir('events')
  const events = await EventFile.open(dir)
  const sizes: number[] = []
  for (let step = 1; step <= 3; step++) {
    events.add(step, { 'train/total': step / 2 }, 1700000000 + step)
    await events.flush()
    sizes.push((await readFile(events.path)).length)
  }
  return { dir, path: events.path, sizes }
}

describe('an event file with a torn last record', () => {
  it('keeps the records before the cut and says what was dropped', async () => {
    const { sizes, path } = await sampleFile()
    const bytes = new Uint8Array(await readFile(path))
    // cut inside the payload of the last record, and inside its 12-byte header
    for (const cut of [sizes[2] - 5, sizes[1] + 7]) {
      const { records, torn } = readIntactRecords(bytes.subarray(0, cut))
      expect(records).toHaveLength(3) // the file-version record and steps 1 and 2
      expect(torn).toEqual({
        at: sizes[1],
        bytes: cut - sizes[1],
        reason: expect.stringMatching(/truncated/)
      })
      expect(() => readScalars(bytes.subarray(0, cut))).toThrow(/truncated/)
    }
    expect(readIntactRecords(bytes).torn).toBeNull()
  })

  it('EventFile.open reports the torn tail, and the next flush writes a valid file', async () => {
    const { path, dir, sizes } = await sampleFile()
    await truncate(path, sizes[2] - 3)
    const heard: string[] = []
    const events = await EventFile.open(dir, undefined, (message) => heard.push(message))
    expect(heard).toEqual([
      `${path.split('/').pop()}: dropped a torn record at byte ${sizes[1]} (${sizes[2] - 3 - sizes[1]} bytes: ` +
        `event file: truncated record at byte ${sizes[1]}); the ${2} scalar record(s) before it are kept`
    ])
    events.add(3, { 'train/total': 1.5 }, 1700000003)
    await events.flush()
    expect(readScalars(new Uint8Array(await readFile(path))).map((s) => [s.step, s.value])).toEqual([
      [1, 0.5],
      [2, 1],
      [3, 1.5]
    ])
  })
})

describe('resuming a run whose event file was cut mid-record', () => {
  let root: string
  let workspace: string
  beforeAll(async () => {
    root = await demoDataset({ studies: 12 })
    workspace = await tempDir('ws')
  }, 120_000)

  it('resumes, writes a valid event file with the new epoch, and says in train.log what was dropped', async () => {
    const source = countingSource()
    const run = join(await tempDir('run'), 'torn')
    const args = {
      dataset: root,
      out: run,
      workspace,
      imageSize: 128,
      widthMultiplier: 0.25,
      depthMultiplier: 0.25,
      batchSize: 4,
      epochs: 1,
      valFraction: 0.25,
      backend: 'wasm' as const,
      seed: 3
    }
    await train(args, { source })
    const name = (await readdir(run)).find((f) => f.startsWith('events.out.tfevents.'))!
    const path = join(run, name)
    const whole = await readFile(path)
    const before = readScalars(new Uint8Array(whole))
    await writeFile(path, whole.subarray(0, whole.length - 7))

    const result = await train({ ...args, epochs: 2, resume: true }, { source })
    expect(result.status).toBe('completed')
    const after = readScalars(new Uint8Array(await readFile(path)))
    // the epoch-1 scalars of the cut record are gone; epoch 2's are there
    expect(after.filter((s) => s.tag === 'final').map((s) => s.step)).toEqual([2])
    expect(after.length).toBeGreaterThan(before.length - 20)
    expect(await readFile(join(run, 'train.log'), 'utf8')).toMatch(
      new RegExp(
        `${name.replace(/\./g, '\\.')}: dropped a torn record at byte \\d+ \\(\\d+ bytes: event file: truncated record`
      )
    )
  }, 300_000)
})
