// Opening a folder from the home page: one without DICOM files is a clear error, not an empty list.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createBackend, type Backend } from '../../main/backend/index'
import { dispatch } from '../../main/backend/dispatch'

let base: string
let backend: Backend

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'cxr-open-'))
  backend = createBackend({ workspace: join(base, 'workspace'), host: 'web' })
})
afterAll(async () => {
  await backend.close()
  rmSync(base, { recursive: true, force: true })
})

const recentRoots = async () =>
  (await backend.handlers.recentDatasets({})).map((item: { root: string }) => item.root)

describe('opening a folder', () => {
  it('refuses a folder without DICOM files with a user error naming it, and keeps it out of Recent', async () => {
    const folder = join(base, 'etc-like')
    mkdirSync(join(folder, 'sub'), { recursive: true })
    writeFileSync(join(folder, 'hostname'), 'a text file without an extension\n')
    writeFileSync(join(folder, 'sub', 'passwd'), 'root:x:0:0\n')
    writeFileSync(join(folder, 'notes.txt'), 'not looked at: neither *.dcm nor extension-less\n')

    const opened = await dispatch(backend.handlers, 'openDataset', { path: folder })
    expect(opened).toMatchObject({
      ok: false,
      error: {
        user: true,
        message: `no DICOM files found in ${folder} (looked at 2 files without an extension: none has the DICM marker, and none is named *.dcm)`
      }
    })
    expect(await recentRoots()).not.toContain(folder)
  })

  it('says so for an empty folder too', async () => {
    const folder = join(base, 'empty')
    mkdirSync(folder)
    const opened = await dispatch(backend.handlers, 'openDataset', { path: folder })
    expect(opened).toMatchObject({
      ok: false,
      error: {
        message: `no DICOM files found in ${folder} (no file in it or its subfolders is named *.dcm or has no extension)`
      }
    })
    expect(await recentRoots()).not.toContain(folder)
  })

  it('opens a folder whose only DICOM file is broken: the file is listed with its reason', async () => {
    const folder = join(base, 'broken-only')
    mkdirSync(folder)
    writeFileSync(join(folder, 'scan.dcm'), 'cut short')
    const summary = await backend.handlers.openDataset({ path: folder })
    expect(summary.fileErrors).toBe(1)
    const rows = await backend.handlers.listImages({ datasetId: summary.datasetId })
    expect(rows).toEqual([expect.objectContaining({ path: 'scan.dcm', flags: ['unreadable-file'] })])
    expect(await recentRoots()).toContain(folder)
  })
})
