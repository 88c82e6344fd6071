// The calls that take a path from the page (any holder of the token can send one): a predictions
// file is read only from where the user keeps the app's and the dataset's files, no error repeats
// what a file holds, and odd paths are user errors, never bugs.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PredictionsSummary } from '../../common/contract'
import { dispatch } from '../../main/backend/dispatch'
import { createBackend, type Backend } from '../../main/backend/index'
import { generateDemo } from '../../main/core/demo'
import { caller } from './helpers'

let base: string
let root: string
let workspace: string
let backend: Backend
let datasetId: string
let imageId: string
const logged: string[] = []
const call = caller(() => backend)
/** The error a call answers with (the envelope of a failed call). */
const failure = async (name: Parameters<typeof dispatch>[1], request: unknown) => {
  const envelope = await dispatch(backend.handlers, name, request, { validateResponses: true })
  if (envelope.ok) throw new Error(`${name} succeeded: ${JSON.stringify(envelope.value).slice(0, 200)}`)
  return envelope.error
}

/** What a secret file starts with; no error may repeat it. */
const SECRET = 'SECRET-7f3a9c'

beforeAll(async () => {
  base = mkdtempSync(join(tmpdir(), 'cxr-paths-'))
  root = join(base, 'siim')
  workspace = join(base, 'workspace')
  await generateDemo(root, { studies: 4, testStudies: 1, seed: 5 })
  backend = createBackend({ workspace, host: 'web', logError: (message) => logged.push(message) })
  datasetId = (await backend.handlers.openDataset({ path: root })).datasetId
  imageId = (await backend.handlers.listImages({ datasetId })).find((row) => !row.error)!.imageId
})
afterAll(async () => {
  await backend?.close()
  rmSync(base, { recursive: true, force: true })
})

const submission = () => `id,PredictionString\n${imageId}_image,opacity 0.7 10 20 110 220 none 0.2 0 0 1 1\n`
const RULE = /read only from the workspace .* or an opened dataset's folder/

describe('where a predictions file may be read from', () => {
  it('refuses /etc/passwd with the rule, without reading it', async () => {
    const error = await failure('loadPredictions', { datasetId, path: '/etc/passwd' })
    expect(error.user).toBe(true)
    expect(error.message).toMatch(/^\/etc\/passwd: not read: prediction files are/)
    expect(error.message).toMatch(RULE)
    expect(error.message).toContain(workspace)
    expect(error.message).not.toMatch(/root:/)
  })

  it('says the same for a path outside that does not exist (no way to probe for files)', async () => {
    const error = await failure('loadPredictions', { datasetId, path: '/nowhere/submission.csv' })
    expect(error.message).toMatch(RULE)
    expect(error.message).not.toMatch(/no such file/)
  })

  it('refuses a way out of the workspace through .. or a symbolic link', async () => {
    const outside = join(base, 'outside.csv')
    writeFileSync(outside, submission())
    const link = join(workspace, 'link.csv')
    symlinkSync(outside, link)
    expect(
      (await failure('loadPredictions', { datasetId, path: join(workspace, '..', 'outside.csv') })).message
    ).toMatch(RULE)
    expect((await failure('loadPredictions', { datasetId, path: link })).message).toMatch(RULE)
  })

  it('loads a submission CSV under the workspace, and one under the dataset folder', async () => {
    mkdirSync(join(workspace, 'submissions'), { recursive: true })
    const inWorkspace = join(workspace, 'submissions', 'mine.csv')
    writeFileSync(inWorkspace, submission())
    const layer = await call<PredictionsSummary>('loadPredictions', { datasetId, path: inWorkspace })
    expect(layer).toMatchObject({
      kind: 'submission-csv',
      source: inWorkspace,
      images: 1,
      boxes: 1,
      rowErrors: []
    })

    const inDataset = join(root, 'my-submission.csv')
    writeFileSync(inDataset, submission())
    const fromDataset = await call<PredictionsSummary>('loadPredictions', { datasetId, path: inDataset })
    expect(fromDataset).toMatchObject({ source: inDataset, boxes: 1 })
    rmSync(inDataset)
  })

  it('names a missing file under the workspace as missing', async () => {
    const missing = join(workspace, 'nope.csv')
    expect((await failure('loadPredictions', { datasetId, path: missing })).message).toBe(
      `${missing}: no such file`
    )
  })
})

describe('errors about a predictions file never repeat its content', () => {
  it('refuses a file that is not a submission CSV without quoting its first line or rows', async () => {
    const notCsv = join(workspace, 'notes.txt')
    writeFileSync(notCsv, `${SECRET},second field\n${SECRET}-line-two\nid,PredictionString\n`)
    const error = await failure('loadPredictions', { datasetId, path: notCsv })
    expect(error).toEqual({
      user: true,
      message: `${notCsv}: not a submission CSV (its first line is not 'id,PredictionString')`
    })
  })

  it('refuses a file CSV cannot parse without quoting it', async () => {
    const broken = join(workspace, 'broken.csv')
    writeFileSync(broken, `"${SECRET}\nmore\n`)
    const error = await failure('loadPredictions', { datasetId, path: broken })
    expect(error.message).toMatch(/not a submission CSV/)
    expect(error.message).not.toContain(SECRET)
  })

  it('refuses a DICOM file of the dataset as a submission without quoting its bytes', async () => {
    const rows = await backend.handlers.listImages({ datasetId })
    const dicom = join(root, rows.find((row) => !row.error && row.path)!.path!)
    const error = await failure('loadPredictions', { datasetId, path: dicom })
    expect(error.message).toBe(`${dicom}: not a submission CSV (its first line is not 'id,PredictionString')`)
  })

  it('refuses a file too large for a submission before reading it', async () => {
    const huge = join(workspace, 'huge.csv')
    writeFileSync(huge, '')
    truncateSync(huge, 33 << 20)
    const error = await failure('loadPredictions', { datasetId, path: huge })
    expect(error).toEqual({
      user: true,
      message: `${huge}: 33 MB is too large for a submission CSV (at most 32 MB)`
    })
    rmSync(huge)
  })
})

describe('opening a run folder never repeats its files', () => {
  it('does not quote a config.json that is not JSON', async () => {
    const run = join(base, 'not-json-run')
    mkdirSync(run)
    writeFileSync(join(run, 'config.json'), `${SECRET} and more text`)
    const error = await failure('openRun', { path: run })
    expect(error.user).toBe(true)
    expect(error.message).toMatch(/config\.json: not valid JSON \(the run configuration\)/)
    expect(error.message).not.toContain(SECRET.slice(0, 6))
  })

  it('does not quote the format of a JSON file that is not a run', async () => {
    const run = join(base, 'other-json')
    mkdirSync(run)
    writeFileSync(join(run, 'config.json'), JSON.stringify({ format: SECRET }))
    const error = await failure('openRun', { path: run })
    expect(error.message).toBe(
      `${join(run, 'config.json')}: not a CXR Studio run (no "format": "cxr-studio-run")`
    )
  })
})

describe('odd paths are user errors, never bugs', () => {
  const long = `/${'a'.repeat(300)}/${'b'.repeat(3000)}`
  const odd = [
    '/dev/null',
    '/proc/self/environ',
    '/etc/passwd/x',
    'relative/path',
    '~nobody/x',
    ' ',
    long,
    '/a\nb'
  ]

  it.each([
    ['openDataset', (path: string) => ({ path })],
    ['openRun', (path: string) => ({ path })],
    ['loadPredictions', (path: string) => ({ datasetId, path })]
  ] as const)('%s answers every odd path with a user error', async (name, request) => {
    for (const path of odd) {
      const error = await failure(name, request(path))
      expect(error.user, `${name} ${JSON.stringify(path.slice(0, 40))}: ${error.message}`).toBe(true)
    }
    expect(logged).toEqual([])
  })

  it('checks every odd output path as a problem or a user error, and starts no export to it', async () => {
    const loop = join(base, 'loop')
    symlinkSync(loop, loop)
    // '/a\nb' is left out: an odd name, but a folder one may create
    const outputs = [...odd.filter((path) => path !== '/a\nb'), join(loop, 'out'), `/${'c'.repeat(256)}`]
    for (const path of outputs) {
      const label = JSON.stringify(path.slice(0, 40))
      const check = await dispatch(backend.handlers, 'checkOutput', { path, kind: 'folder', suggest: 'coco' })
      if (check.ok) expect(check.value.problem, label).toBeTruthy()
      else expect(check.error.user, `${label}: ${check.error.message}`).toBe(true)
      const error = await failure('exportDataset', { datasetId, format: 'coco', out: path })
      expect(error.user, `${label}: ${error.message}`).toBe(true)
    }
    expect(logged).toEqual([])
  })
})
