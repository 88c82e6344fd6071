// Outside the Kaggle layout an image's id is its SOP Instance UID; two files can carry the same one
// (the same image exported twice, in two syntaxes). Both must be listed and openable, under ids that
// do not change when the folder is indexed again, and the quality report must say so.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatasetSession } from '../../main/backend/datasets/session'
import { openDataset } from '../../main/core/dataset'
import { decodeFile } from '../../main/core/dicom/decode'
import { indexFolder } from '../../main/core/dicom/index-folder'
import { labelRules } from '../../main/core/quality/rules'
import { fixturePath } from '../dicom/fixtures'

/** The SOP Instance UID of the mono2_u12 fixtures (every syntax of one generated image shares it). */
const UID = '1.2.826.0.1.3680043.8.498.802981872734'

const FILES = {
  // neither path is Kaggle-shaped (<study>/<series>/<image>.dcm), so both ids come from the header
  'scans/explicit.dcm': 'mono2_s12.explicit.dcm',
  'scans/lossless/copies/jpegls.dcm': 'mono2_s12.jpegls.dcm',
  'other/IM0001': 'mono1_u12.explicit.dcm'
}

describe('files sharing a SOP Instance UID outside the Kaggle layout', () => {
  let root: string
  let workspace: string
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'cxr-dup-uid-'))
    workspace = mkdtempSync(join(tmpdir(), 'cxr-dup-uid-ws-'))
    for (const [rel, fixture] of Object.entries(FILES)) {
      mkdirSync(join(root, rel, '..'), { recursive: true })
      copyFileSync(fixturePath(`files/${fixture}`), join(root, rel))
    }
  })
  afterAll(() => {
    rmSync(root, { recursive: true, force: true })
    rmSync(workspace, { recursive: true, force: true })
  })

  const ids = (images: Array<{ path?: string; record?: { path: string } | null; imageId: string }>) =>
    Object.fromEntries(images.map((image) => [image.path ?? image.record!.path, image.imageId]))

  it('lists both files under distinct ids: the first by path keeps the UID, the other gets a suffix from its path', async () => {
    const index = await indexFolder(root, { workspace })
    const byPath = ids(index.images)
    expect(byPath['scans/explicit.dcm']).toBe(UID)
    expect(byPath['scans/lossless/copies/jpegls.dcm']).toMatch(
      new RegExp(`^${UID.replace(/\./g, '\\.')}~[0-9a-f]{8}$`)
    )
    expect(new Set(Object.values(byPath)).size).toBe(3)
    // both keep the UID itself in the record
    expect(index.images.filter((image) => image.sopInstanceUid === UID)).toHaveLength(2)
  })

  it('gives the same ids at every re-index: from the cache, from scratch, in any order', async () => {
    const first = ids((await indexFolder(root, { workspace })).images)
    expect(ids((await indexFolder(root, { workspace })).images)).toEqual(first)
    expect(ids((await indexFolder(root, { concurrency: 1 })).images)).toEqual(first)
    expect(ids((await indexFolder(root, { concurrency: 3 })).images)).toEqual(first)
  })

  it('opens each file under its own id', async () => {
    const dataset = await openDataset(root, { workspace })
    expect(dataset.images).toHaveLength(3)
    const session = new DatasetSession(dataset, workspace)
    for (const image of dataset.images) {
      const { absPath } = session.file(image.imageId)
      expect(absPath).toBe(join(root, image.record!.path))
      const decoded = await decodeFile(absPath, image.record!.path)
      expect([decoded.columns, decoded.rows]).toEqual([image.record!.columns, image.record!.rows])
    }
    expect(
      session
        .imageRows()
        .map((row) => row.path)
        .sort()
    ).toEqual(Object.keys(FILES).sort())
  })

  it('the quality report flags the shared UID on both files, naming the other', async () => {
    const dataset = await openDataset(root, { workspace })
    const found = labelRules(dataset).filter((issue) => issue.rule === 'duplicate-sop-instance-uid')
    expect(found.map((issue) => [issue.path, issue.message])).toEqual([
      [
        'scans/explicit.dcm',
        `scans/explicit.dcm: SOP Instance UID ${UID} is also in scans/lossless/copies/jpegls.dcm`
      ],
      [
        'scans/lossless/copies/jpegls.dcm',
        `scans/lossless/copies/jpegls.dcm: SOP Instance UID ${UID} is also in scans/explicit.dcm`
      ]
    ])
    // the ids differ now, so this is not also reported as a repeated imageId
    expect(labelRules(dataset).filter((issue) => issue.rule === 'duplicate-image-id')).toEqual([])
  })
})
