import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { UserError } from '../../main/core/errors'
import { writeFileAtomic, writeJsonAtomic } from '../../main/core/fs-atomic'

describe('writeFileAtomic', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cxr-atomic-'))
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('creates the folders and leaves only the finished file', async () => {
    await writeJsonAtomic(join(dir, 'a', 'b', 'x.json'), { ok: true })
    expect(JSON.parse(readFileSync(join(dir, 'a', 'b', 'x.json'), 'utf8'))).toEqual({ ok: true })
    expect(readdirSync(join(dir, 'a', 'b'))).toEqual(['x.json'])
  })

  it('turns a folder that cannot be written into a user error naming the path and the cause', async () => {
    writeFileSync(join(dir, 'file'), 'a file where the export folder should go')
    const target = join(dir, 'file', 'coco', 'train.json')
    const error = await writeFileAtomic(target, '{}').catch((err: unknown) => err)
    expect(error).toBeInstanceOf(UserError)
    expect((error as Error).message).toBe(`${target}: cannot write (ENOTDIR)`)
  })
})
