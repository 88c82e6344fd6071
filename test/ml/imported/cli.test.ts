// `cxr-studio import-model` then `predict`, `evaluate` and `submit` on the imported run, through the
// built CLI and its predict worker (needs `npm run build:node`, which `npm test` runs first), as a
// user would run them on the demo dataset.
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { hasErrors, validateSubmission } from '../../../main/core/submission/validate'
import { demoDataset, tempDir } from '../helpers'
import { runCli } from '../../cli'

const BUILT = join(__dirname, '../../../out/node/predict-worker.js')
const FIXTURES = join(__dirname, '../../fixtures/onnx-import')

let root: string
let workspace: string
let out: string

beforeAll(async () => {
  if (!existsSync(BUILT))
    throw new Error('out/node/predict-worker.js is missing: run `npm run build:node` before these tests')
  root = await demoDataset({ studies: 8, testStudies: 3 })
  workspace = await tempDir('import-cli-ws')
  out = await tempDir('import-cli')
}, 60_000)

const cli = (args: string[]) => runCli(['--workspace', workspace, ...args])

describe('cxr-studio import-model, then predict / evaluate / submit', () => {
  it('imports a YOLOv8 model with a study classifier and uses it like a trained run', async () => {
    const run = join(out, 'yolo')
    const imported = await cli([
      'import-model',
      join(FIXTURES, 'yolov8.onnx'),
      '--format',
      'yolov8',
      '--study-model',
      join(FIXTURES, 'study.onnx'),
      '--out',
      run
    ])
    expect(imported.code, imported.stderr).toBe(0)
    expect(imported.stdout).toContain('imported yolov8.onnx (yolov8, 320 px, 1 class(es)')
    const config = JSON.parse(await readFile(join(run, 'config.json'), 'utf8'))
    expect(config).toMatchObject({ kind: 'imported', model: { format: 'yolov8', file: 'model/model.onnx' } })
    expect(config.model.source.sha256).toMatch(/^[0-9a-f]{64}$/)
    expect(existsSync(join(run, 'model/study.onnx'))).toBe(true)

    const predictions = join(out, 'predictions.json')
    const predicted = await cli(['predict', run, root, '--out', predictions])
    expect(predicted.code, predicted.stderr).toBe(0)
    expect(predicted.stdout).toMatch(/predicted with the imported yolov8 model yolov8\.onnx \(320 px\) on onnxruntime/)
    const doc = JSON.parse(await readFile(predictions, 'utf8'))
    expect(doc.model).toMatchObject({ kind: 'imported', format: 'yolov8', source: 'yolov8.onnx', study: 'study-model' })
    expect(doc.images.length).toBeGreaterThan(0)
    for (const image of doc.images) {
      expect(image.boxes.length).toBeGreaterThan(0)
      for (const box of image.boxes) {
        // back in original pixels, clipped to the image
        expect(box.x1).toBeGreaterThanOrEqual(0)
        expect(box.y1).toBeGreaterThanOrEqual(0)
        expect(box.x2).toBeLessThanOrEqual(image.width)
        expect(box.y2).toBeLessThanOrEqual(image.height)
      }
    }

    const evaluated = await cli(['evaluate', run, root, '--json'])
    expect(evaluated.code, evaluated.stderr).toBe(0)
    const report = JSON.parse(evaluated.stdout)
    expect(report.final).toBeGreaterThanOrEqual(0)
    expect(report.final).toBeLessThanOrEqual(1)
    expect(report.truth).toContain('test_study_level.csv')

    const submission = join(out, 'submission.csv')
    const submitted = await cli(['submit', run, root, '--out', submission])
    expect(submitted.code, submitted.stderr).toBe(0)
    const text = await readFile(submission, 'utf8')
    const sample = await readFile(join(root, 'sample_submission.csv'), 'utf8')
    expect(hasErrors(validateSubmission(text, sample))).toBe(false)
    expect(text).toMatch(/_image,opacity 0\.\d+ /)
  }, 180_000)

  it('a wrong format is exit 1 with the file, what was expected and found; no run folder is left', async () => {
    const run = join(out, 'wrong')
    const result = await cli(['import-model', join(FIXTURES, 'yolov5.onnx'), '--format', 'yolov8', '--out', run])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('yolov5.onnx: not a yolov8 model: expected output [1, 4 + nc, N]')
    expect(result.stderr).toContain('found [1, 1600, 7]')
    expect(existsSync(join(run, 'config.json'))).toBe(false)
  }, 60_000)
})
