// DESIGN rule 6: writes only ever replace regular files the app owns, and never the inputs or a
// source dataset. These are the checks every write (fs-atomic) and every output (commands, jobs,
// back-end exports) goes through.
import { execFileSync } from 'node:child_process'
import {
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { UserError } from '../../main/core/errors'
import { writeFileAtomic } from '../../main/core/fs-atomic'
import { assertOutputAllowed, datasetSource, inputSource } from '../../main/core/write-target'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cxr-write-target-'))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const errorOf = (promise: Promise<unknown>) =>
  promise.then(
    () => null,
    (err: unknown) => err as Error
  )

describe('writeFileAtomic replaces only regular files', () => {
  it('refuses a FIFO and leaves it a FIFO', async () => {
    const fifo = join(dir, 'pipe')
    execFileSync('mkfifo', [fifo])
    const error = await errorOf(writeFileAtomic(fifo, 'data'))
    expect(error).toBeInstanceOf(UserError)
    expect(error!.message).toBe(
      `${fifo}: is a FIFO (named pipe), not a regular file; only regular files are replaced`
    )
    expect(lstatSync(fifo).isFIFO()).toBe(true)
    expect(readdirSync(dir)).toEqual(['pipe'])
  })

  it('refuses a symlink to a FIFO and leaves both as they were', async () => {
    const fifo = join(dir, 'pipe')
    execFileSync('mkfifo', [fifo])
    const link = join(dir, 'out.npy')
    symlinkSync(fifo, link)
    const error = await errorOf(writeFileAtomic(link, 'data'))
    expect(error).toBeInstanceOf(UserError)
    expect(error!.message).toBe(
      `${link}: is a symbolic link to ${fifo}, a FIFO (named pipe), not a regular file; only regular files are replaced`
    )
    expect(lstatSync(link).isSymbolicLink()).toBe(true)
    expect(lstatSync(fifo).isFIFO()).toBe(true)
  })

  it('refuses a character device (/dev/null stays a device)', async () => {
    const error = await errorOf(writeFileAtomic('/dev/null', 'data'))
    expect(error).toBeInstanceOf(UserError)
    expect(error!.message).toMatch(/^\/dev\/null: is a character device, not a regular file/)
    expect(lstatSync('/dev/null').isCharacterDevice()).toBe(true)
  })

  it('refuses a folder and a dangling symlink', async () => {
    mkdirSync(join(dir, 'folder'))
    expect((await errorOf(writeFileAtomic(join(dir, 'folder'), 'x')))!.message).toMatch(
      /folder: is a folder, not a regular file/
    )
    symlinkSync(join(dir, 'nowhere'), join(dir, 'dangling'))
    expect((await errorOf(writeFileAtomic(join(dir, 'dangling'), 'x')))!.message).toBe(
      `${join(dir, 'dangling')}: is a symbolic link to ${join(dir, 'nowhere')}, which does not exist; only regular files are replaced`
    )
    expect(readdirSync(dir).sort()).toEqual(['dangling', 'folder'])
  })

  it('writes through a symlink to a regular file: the link stays, the file it names is replaced', async () => {
    writeFileSync(join(dir, 'real.csv'), 'old')
    symlinkSync(join(dir, 'real.csv'), join(dir, 'link.csv'))
    await writeFileAtomic(join(dir, 'link.csv'), 'new')
    expect(lstatSync(join(dir, 'link.csv')).isSymbolicLink()).toBe(true)
    expect(readFileSync(join(dir, 'real.csv'), 'utf8')).toBe('new')
    expect(readdirSync(dir).sort()).toEqual(['link.csv', 'real.csv'])
  })

  it('replaces a regular file', async () => {
    writeFileSync(join(dir, 'x.json'), 'old')
    await writeFileAtomic(join(dir, 'x.json'), 'new')
    expect(readFileSync(join(dir, 'x.json'), 'utf8')).toBe('new')
  })
})

describe('assertOutputAllowed', () => {
  it('refuses the input file, by its path, a symlink to it or a hard link', async () => {
    const input = join(dir, 'image.dcm')
    writeFileSync(input, 'DICOM')
    symlinkSync(input, join(dir, 'alias.dcm'))
    linkSync(input, join(dir, 'hard.dcm'))
    for (const out of [input, join(dir, 'alias.dcm'), join(dir, 'hard.dcm')]) {
      const error = await errorOf(assertOutputAllowed(out, [inputSource(input)]))
      expect(error).toBeInstanceOf(UserError)
      expect(error!.message).toBe(`${out}: is the input file ${input}; write the output elsewhere`)
    }
    expect(await assertOutputAllowed(join(dir, 'image.npy'), [inputSource(input)])).toBeUndefined()
  })

  it('refuses anything inside a source dataset folder, also through a symlinked parent', async () => {
    const dataset = join(dir, 'dataset')
    mkdirSync(join(dataset, 'train'), { recursive: true })
    symlinkSync(dataset, join(dir, 'alias'))
    for (const out of [
      join(dataset, 'sample_submission.csv'),
      join(dataset, 'train', 'new', 'x.json'),
      dataset,
      join(dir, 'alias', 'submission.csv')
    ]) {
      const error = await errorOf(assertOutputAllowed(out, [datasetSource(dataset)]))
      expect(error).toBeInstanceOf(UserError)
      expect(error!.message).toBe(
        `${out}: must not be inside the dataset folder ${dataset}; source datasets are never written`
      )
    }
    expect(await assertOutputAllowed(join(dir, 'dataset-export'), [datasetSource(dataset)])).toBeUndefined()
  })

  it('refuses a non-regular file, and a folder output that is a file', async () => {
    const fifo = join(dir, 'pipe')
    execFileSync('mkfifo', [fifo])
    expect((await errorOf(assertOutputAllowed(fifo, [])))!.message).toMatch(/pipe: is a FIFO/)
    writeFileSync(join(dir, 'file'), '')
    expect((await errorOf(assertOutputAllowed(join(dir, 'file'), [], 'folder')))!.message).toBe(
      `${join(dir, 'file')}: exists and is not a folder`
    )
  })
})

describe('odd paths', () => {
  it('a name too long or a loop of symlinks is a user error naming the path, not a crash', async () => {
    const long = join(dir, 'a'.repeat(300))
    const error = await errorOf(assertOutputAllowed(long, []))
    expect(error).toBeInstanceOf(UserError)
    expect(error!.message).toBe(`${long}: a name in the path is longer than the file system allows`)
    symlinkSync(join(dir, 'loop'), join(dir, 'loop'))
    const loop = await errorOf(writeFileAtomic(join(dir, 'loop'), 'x'))
    expect(loop).toBeInstanceOf(UserError)
    expect(loop!.message).toBe(`${join(dir, 'loop')}: too many levels of symbolic links`)
  })
})
