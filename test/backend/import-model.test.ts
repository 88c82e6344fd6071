// The Runs view's "Import model…" through the contract: refusals come back next to the form field they
// are about (nothing written), and an accepted model is a run listed as imported, with its format and
// source file and no training.
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ImportModelResult, RunSummary } from '../../common/contract'
import { createBackend, type Backend } from '../../main/backend/index'
import { caller } from './helpers'

const FIXTURES = join(__dirname, '../fixtures/onnx-import')

let base: string
let workspace: string
let backend: Backend
const call = caller(() => backend)

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'cxr-import-'))
  workspace = join(base, 'workspace')
  backend = createBackend({ workspace, host: 'web', logError: () => undefined })
})

afterAll(async () => {
  await backend?.close()
  rmSync(base, { recursive: true, force: true })
})

const request = (fields: Record<string, unknown>) => ({
  model: join(FIXTURES, 'yolov8.onnx'),
  format: 'yolov8',
  name: 'imported-yolo',
  ...fields
})

describe('importModel', () => {
  it('refuses per field: a missing file, a wrong format, a bad class mapping, a study model that is not one', async () => {
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ model: join(base, 'missing.onnx') }, 'model', /missing\.onnx/],
      [{ format: 'yolov5' }, 'format', /yolov8\.onnx: not a yolov5 model: expected output \[1, N, 5 \+ nc\].*found \[1, 5, 1600\]/],
      [{ classes: '1=nodule' }, 'classes', /no class is named opacity/],
      [{ studyModel: join(FIXTURES, 'yolov5.onnx') }, 'studyModel', /yolov5\.onnx: a study model's first output must be \[1, 4\]/],
      [{ inputSize: 640 }, 'inputSize', /fixed at 320 x 320/]
    ]
    for (const [fields, field, message] of cases) {
      const result = await call<ImportModelResult>('importModel', request(fields))
      expect(result.run, field).toBeNull()
      expect(result.errors).toHaveLength(1)
      expect(result.errors[0].field).toBe(field)
      expect(result.errors[0].message).toMatch(message)
    }
    expect(existsSync(join(workspace, 'runs', 'imported-yolo', 'config.json'))).toBe(false)
  })

  it('makes runs/<name>, listed as an imported run that has nothing to train', async () => {
    const result = await call<ImportModelResult>('importModel', request({}))
    expect(result.errors).toEqual([])
    expect(result.run).toMatchObject({
      name: 'imported-yolo',
      state: 'completed',
      imported: { format: 'yolov8', source: 'yolov8.onnx', inputSize: 320 },
      model: null,
      epochs: 0
    })
    const listed = await call<RunSummary[]>('listRuns', {})
    expect(listed.map((run) => run.runId)).toContain(result.run!.runId)
    // the same name again is refused next to the name
    const again = await call<ImportModelResult>('importModel', request({}))
    expect(again.errors[0]).toMatchObject({ field: 'name', message: expect.stringMatching(/not empty/) })
  })
})
