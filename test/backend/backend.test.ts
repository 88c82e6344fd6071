// The back end the UI talks to, on a generated Kaggle-layout folder with one broken file added.
import { createHash } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateDemo } from '../../main/core/demo'
import { createBackend, type Backend } from '../../main/backend/index'
import { dispatch } from '../../main/backend/dispatch'

let base: string
let root: string
let backend: Backend
let datasetId: string
let sourceSnapshot: string

/** Names, sizes and contents of every file under the dataset, to prove it was never written. */
function snapshot(dir: string): string {
  const hash = createHash('sha1')
  const walk = (current: string) => {
    for (const entry of readdirSync(current, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name)
    )) {
      const path = join(current, entry.name)
      if (entry.isDirectory()) walk(path)
      else hash.update(`${path}:${statSync(path).mtimeMs}:`).update(readFileSync(path))
    }
  }
  walk(dir)
  return hash.digest('hex')
}

beforeAll(async () => {
  base = mkdtempSync(join(tmpdir(), 'cxr-backend-'))
  root = join(base, 'siim')
  await generateDemo(root, { studies: 6, testStudies: 1, seed: 3 })
  const studyDir = join(root, 'train', readdirSync(join(root, 'train'))[0])
  const seriesDir = join(studyDir, readdirSync(studyDir)[0])
  writeFileSync(join(seriesDir, 'deadbeef0000.dcm'), 'not a dicom file at all')
  sourceSnapshot = snapshot(root)
  backend = createBackend({ workspace: join(base, 'workspace'), host: 'web' })
  datasetId = (await backend.handlers.openDataset({ path: root })).datasetId
})
afterAll(async () => {
  await backend.close()
  rmSync(base, { recursive: true, force: true })
})

const call = <T>(name: Parameters<typeof dispatch>[1], request: unknown) =>
  dispatch(backend.handlers, name, request, { validateResponses: true }).then((envelope) => {
    if (!envelope.ok) throw new Error(envelope.error.message)
    return envelope.value as T
  })

describe('back end on a Kaggle-layout folder', () => {
  it('lists every file, labels and boxes within the contract, and the broken file with its reason', async () => {
    const rows = await call<
      Array<{
        imageId: string
        error: string | null
        boxes: unknown[]
        split: string
        studyLabel: string | null
      }>
    >('listImages', { datasetId })
    const csvRows = readFileSync(join(root, 'train_image_level.csv'), 'utf8').trim().split('\n').length - 1
    expect(rows.filter((row) => row.split === 'train' && !row.error).length).toBe(csvRows)
    const broken = rows.find((row) => row.imageId === 'deadbeef0000')
    expect(broken?.error).toBeTruthy()
    expect(rows.some((row) => row.boxes.length > 0 && row.studyLabel !== null)).toBe(true)
  })

  it('sends stored pixels as raw bytes sized rows × columns × bytes per pixel', async () => {
    const rows = await call<Array<{ imageId: string; rows: number; columns: number; error: string | null }>>(
      'listImages',
      { datasetId }
    )
    const row = rows.find((r) => !r.error)!
    const pixels = await call<{
      meta: { rows: number; columns: number; pixelFormat: string; autoWindow: { width: number } }
      data: Uint8Array
    }>('imagePixels', { datasetId, imageId: row.imageId })
    expect([pixels.meta.rows, pixels.meta.columns]).toEqual([row.rows, row.columns])
    const bytesPerPixel = { uint8: 1, int8: 1, uint16: 2, int16: 2, int32: 4 }[pixels.meta.pixelFormat]!
    expect(pixels.data.byteLength).toBe(row.rows * row.columns * bytesPerPixel)
    expect(pixels.meta.autoWindow.width).toBeGreaterThan(1)
  })

  it('shows an unreadable file as an error naming the file, not as pixels', async () => {
    const envelope = await dispatch(backend.handlers, 'imagePixels', { datasetId, imageId: 'deadbeef0000' })
    expect(envelope.ok).toBe(false)
    if (!envelope.ok) {
      expect(envelope.error.user).toBe(true)
      expect(envelope.error.message).toMatch(/train\/.+\/deadbeef0000\.dcm: /)
    }
  })

  it('makes thumbnails once and then serves them from the workspace cache', async () => {
    const rows = await call<Array<{ imageId: string; error: string | null }>>('listImages', { datasetId })
    const { imageId } = rows.find((r) => !r.error)!
    const first = await call<{ meta: { width: number; height: number }; data: Uint8Array }>('thumbnail', {
      datasetId,
      imageId,
      size: 64
    })
    expect(Math.max(first.meta.width, first.meta.height)).toBe(64)
    expect(first.data.length).toBe(first.meta.width * first.meta.height)
    const started = performance.now()
    const second = await call<{ data: Uint8Array }>('thumbnail', { datasetId, imageId, size: 64 })
    expect(performance.now() - started).toBeLessThan(200)
    expect(Buffer.from(second.data).equals(Buffer.from(first.data))).toBe(true)
  })

  it('lists DICOM tags with names and values for the tag panel', async () => {
    const rows = await call<Array<{ imageId: string; rows: number; error: string | null }>>('listImages', {
      datasetId
    })
    const row = rows.find((r) => !r.error)!
    const tags = await call<Array<{ tag: string; name: string; value: string }>>('imageTags', {
      datasetId,
      imageId: row.imageId
    })
    expect(tags.find((t) => t.tag === '(0028,0010)')).toMatchObject({ name: 'Rows', value: String(row.rows) })
    expect(tags.find((t) => t.tag === '(0002,0010)')?.name).toBe('TransferSyntaxUID')
  })

  it('validates typed folder paths with a message naming the path', async () => {
    const relative = await dispatch(backend.handlers, 'openDataset', { path: 'data/siim' })
    expect(relative).toMatchObject({
      ok: false,
      error: { user: true, message: 'data/siim: type an absolute path (for example /data/siim-covid19)' }
    })
    const missing = await dispatch(backend.handlers, 'openDataset', { path: join(root, 'nope') })
    expect(missing).toMatchObject({ ok: false, error: { message: `${join(root, 'nope')}: no such folder` } })
    const file = await dispatch(backend.handlers, 'openDataset', {
      path: join(root, 'train_image_level.csv')
    })
    expect(file).toMatchObject({
      ok: false,
      error: { message: `${join(root, 'train_image_level.csv')}: not a folder` }
    })
  })

  it('reads a submission CSV into the prediction layer, in original pixel coordinates', async () => {
    const rows = await call<Array<{ imageId: string; error: string | null }>>('listImages', { datasetId })
    const { imageId } = rows.find((r) => !r.error)!
    // predictions files are read only from the workspace or a dataset folder
    const submission = join(base, 'workspace', 'submission.csv')
    writeFileSync(
      submission,
      `id,PredictionString\n${imageId}_image,opacity 0.75 10 20 110 220 none 0.1 0 0 1 1\nabc_study,negative 1 0 0 1 1\n`
    )
    const summary = await call<{ images: number; boxes: number }>('loadPredictions', {
      datasetId,
      path: submission
    })
    expect(summary).toMatchObject({ images: 1, boxes: 1 })
    const predictions = await call<{ boxes: unknown[]; none: number | null }>('predictions', {
      datasetId,
      imageId
    })
    expect(predictions.boxes).toEqual([
      { label: 'opacity', score: 0.75, x: 10, y: 20, width: 100, height: 200 }
    ])
    expect(predictions.none).toBe(0.1)
    const missing = await dispatch(backend.handlers, 'loadPredictions', {
      datasetId,
      path: join(root, 'nope.csv')
    })
    expect(missing).toMatchObject({
      ok: false,
      error: { user: true, message: `${join(root, 'nope.csv')}: no such file` }
    })
  })

  it('remembers the dataset in the recent list and never writes the source folder', async () => {
    const recent = await call<Array<{ datasetId: string; root: string }>>('recentDatasets', {})
    expect(recent[0]).toMatchObject({ datasetId, root })
    expect(snapshot(root)).toBe(sourceSnapshot)
  })
})
