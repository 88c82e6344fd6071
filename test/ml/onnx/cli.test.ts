// `cxr-studio export-onnx` and `predict --runtime onnx|tfjs` through the built CLI and its predict
// worker (needs `npm run build:node`, which `npm test` runs first), on a tiny run of the demo data.
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { loadOnnxRuntime } from '../../../main/ml/onnx/runtime'
import { demoDataset, tempDir, tinyTrainArgs } from '../helpers'
import { runCli } from '../../cli'

const BUILT = join(__dirname, '../../../out/node/predict-worker.js')
/** Scores and probabilities: ONNX Runtime and tfjs (WASM) agree to float32 rounding. */
const TOLERANCE = 1e-4

let root: string
let workspace: string
let run: string
let out: string

beforeAll(async () => {
  if (!existsSync(BUILT))
    throw new Error('out/node/predict-worker.js is missing: run `npm run build:node` before these tests')
  root = await demoDataset({ studies: 8, testStudies: 3 })
  workspace = await tempDir('ws')
  out = await tempDir('onnx-out')
  run = join(out, 'run')
  const result = await runCli(tinyTrainArgs(workspace, root, run))
  if (result.code !== 0) throw new Error(`train failed (${result.code}): ${result.stderr}`)
}, 120_000)

interface Box {
  x1: number
  y1: number
  x2: number
  y2: number
  confidence: number
}
interface PredictionsFile {
  runtime: { name: string; executionProvider: string }
  images: Array<{
    imageId: string
    width: number
    height: number
    boxes: Box[]
    none: number
    studyProbs: Record<string, number>
  }>
}

async function predict(runtime: string): Promise<PredictionsFile> {
  const file = join(out, `predictions-${runtime}.json`)
  const result = await runCli([
    '--workspace',
    workspace,
    'predict',
    run,
    root,
    '--out',
    file,
    '--split',
    'all',
    '--score-threshold',
    '0.001',
    '--runtime',
    runtime
  ])
  expect(result.code, result.stderr).toBe(0)
  return JSON.parse(await readFile(file, 'utf8')) as PredictionsFile
}

describe('cxr-studio export-onnx', () => {
  it('writes the best checkpoint as a model ONNX Runtime opens, and says so', async () => {
    const model = join(out, 'model.onnx')
    const result = await runCli(['export-onnx', run, '--out', model, '--json'])
    expect(result.code, result.stderr).toBe(0)
    const summary = JSON.parse(result.stdout)
    expect(summary.checkpoint.name).toBe('best')
    expect(summary.loadCheck).toEqual({ loaded: true, by: expect.stringMatching(/^onnxruntime-node /) })
    const { ort } = await loadOnnxRuntime()
    const session = await ort!.InferenceSession.create(model)
    const size = summary.imageSize as number
    const input = new ort!.Tensor('float32', new Float32Array(size * size).fill(0.5), [1, size, size, 1])
    const outputs = await session.run({ images: input })
    expect(outputs.study_probs.data.length).toBe(4)
    const sum = Array.from(outputs.study_probs.data as Float32Array).reduce((a, b) => a + b, 0)
    expect(sum).toBeCloseTo(1, 5)
    await session.release()
  })

  it('refuses an output inside the dataset the run was trained on (exit 1, nothing written)', async () => {
    const inside = join(root, 'model.onnx')
    const result = await runCli(['export-onnx', run, '--out', inside, '--checkpoint', 'last'])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('must not be inside the dataset folder')
    expect(existsSync(inside)).toBe(false)
  })
})

describe('cxr-studio predict --runtime', () => {
  it('predicts on ONNX Runtime what tfjs predicts, and records the runtime in the predictions file', async () => {
    const onnx = await predict('onnx')
    const tfjs = await predict('tfjs')
    expect(onnx.runtime).toMatchObject({ name: 'onnxruntime', executionProvider: 'cpu' })
    expect(tfjs.runtime).toMatchObject({ name: 'tfjs', executionProvider: 'wasm' })
    expect(onnx.images.map((i) => i.imageId)).toEqual(tfjs.images.map((i) => i.imageId))
    let boxes = 0
    let matched = 0
    onnx.images.forEach((image, i) => {
      const other = tfjs.images[i]
      expect(Math.abs(image.none - other.none)).toBeLessThan(TOLERANCE)
      for (const [cls, p] of Object.entries(image.studyProbs))
        expect(Math.abs(p - other.studyProbs[cls])).toBeLessThan(TOLERANCE)
      expect(image.boxes.length).toBe(other.boxes.length)
      const ranked = (list: Box[]) => list.map((b) => b.confidence).sort((a, b) => b - a)
      ranked(image.boxes).forEach((c, k) =>
        expect(Math.abs(c - ranked(other.boxes)[k])).toBeLessThan(TOLERANCE)
      )
      // one model-input pixel (128 px) in original pixels
      const pixel = Math.max(image.width, image.height) / 128
      for (const box of image.boxes) {
        boxes++
        const twin = other.boxes.find(
          (b) =>
            Math.abs(b.confidence - box.confidence) < TOLERANCE &&
            (['x1', 'y1', 'x2', 'y2'] as const).every((k) => Math.abs(b[k] - box[k]) < pixel)
        )
        if (twin) matched++
      }
    })
    expect(boxes).toBeGreaterThan(50)
    // after one epoch every candidate scores near the 0.01 prior: at the 30-box cut, candidates whose
    // scores differ by float32 rounding can trade places; all but a handful are the same box
    expect(matched / boxes).toBeGreaterThan(0.98)
  }, 60_000)
})
