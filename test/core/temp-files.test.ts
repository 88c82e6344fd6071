// A kill mid-write leaves our temp files and folders behind (fs-atomic's `.<name>.<pid>-<hex>.tmp`,
// checkpoint folders of the same shape, the demo's generation folder). A sweep removes exactly those
// no live process holds, and nothing else.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { writeFileAtomic } from '../../main/core/fs-atomic'
import { removeStaleTemps, tempName } from '../../main/core/temp-files'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cxr-temp-files-'))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

/** The pid of a process that has ended (so no live process holds its temps). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8'
  })
  return Number(child.stdout)
}

const longAgo = new Date(Date.now() - 3600_000)

describe('temp names', () => {
  it('are `.<name>.<pid>-<12 hex>.tmp`, and writeFileAtomic leaves none behind', async () => {
    expect(tempName('results.csv')).toMatch(
      new RegExp(`^\\.results\\.csv\\.${process.pid}-[0-9a-f]{12}\\.tmp$`)
    )
    await writeFileAtomic(join(dir, 'x.json'), '{}')
    expect(readdirSync(dir)).toEqual(['x.json'])
  })
})

describe('removeStaleTemps', () => {
  it('removes the temp files and folders of dead processes, at any depth asked for', async () => {
    const dead = deadPid()
    const file = join(dir, `.results.csv.${dead}-0123456789ab.tmp`)
    writeFileSync(file, 'half a file')
    const folder = join(dir, 'checkpoints', `.last.${dead}-0123456789ab.tmp`)
    mkdirSync(folder, { recursive: true })
    writeFileSync(join(folder, 'weights.bin'), 'partial')
    const deep = join(dir, 'images', 'train', `.abc.png.${dead}-0123456789ab.tmp`)
    mkdirSync(join(dir, 'images', 'train'), { recursive: true })
    writeFileSync(deep, '')

    expect((await removeStaleTemps(dir, { depth: 1 })).sort()).toEqual([file, folder].sort())
    expect(existsSync(deep)).toBe(true)
    expect(await removeStaleTemps(dir, { depth: 2 })).toEqual([deep])
    expect(readdirSync(join(dir, 'checkpoints'))).toEqual([])
  })

  it('keeps what a live process may still be writing: another live pid, and our own recent temps', async () => {
    const sleeper = spawn('sleep', ['30'])
    try {
      const theirs = join(dir, `.index.json.${sleeper.pid}-0123456789ab.tmp`)
      const ours = join(dir, `.status.json.${process.pid}-0123456789ab.tmp`)
      writeFileSync(theirs, '')
      writeFileSync(ours, '')
      expect(await removeStaleTemps(dir)).toEqual([])
      // our pid on a temp older than this process: a process before us had the same pid
      utimesSync(ours, longAgo, longAgo)
      expect(await removeStaleTemps(dir)).toEqual([ours])
      expect(readdirSync(dir)).toEqual([theirs.split('/').pop()])
    } finally {
      sleeper.kill()
    }
  })

  it('removes the pid-less temps of older versions only when they predate this process', async () => {
    const legacy = join(dir, '.train.json.0123456789ab.tmp')
    const demo = join(dir, '.demo-dataset-0123abcd')
    writeFileSync(legacy, '')
    mkdirSync(demo)
    expect(await removeStaleTemps(dir)).toEqual([])
    for (const path of [legacy, demo]) utimesSync(path, longAgo, longAgo)
    expect((await removeStaleTemps(dir)).sort()).toEqual([demo, legacy].sort())
  })

  it('never touches a name that is not exactly ours', async () => {
    const dead = deadPid()
    const names = [
      'notes.tmp',
      '.x.tmp',
      `x.${dead}-0123456789ab.tmp`,
      `.x.${dead}-0123456789abc.tmp`,
      `.x.${dead}-0123456789AB.tmp`,
      `.x.${dead}-0123456789ab.tmp.bak`,
      '.demo-dataset-0123abcd9',
      '.last.0123456789ab.old'
    ]
    for (const name of names) {
      writeFileSync(join(dir, name), '')
      utimesSync(join(dir, name), longAgo, longAgo)
    }
    expect(await removeStaleTemps(dir)).toEqual([])
    expect(readdirSync(dir).sort()).toEqual([...names].sort())
  })
})
