// Models trained elsewhere (issue 13, point 2): real ONNX exports made by scripts/make-onnx-fixtures.py
// (a torchvision Faster R-CNN trained on the demo, and small PyTorch modules emitting exactly the
// YOLOv5 and YOLOv8 layouts) are imported and predicted here; their boxes must equal what PyTorch
// predicted on the same demo test images (test/fixtures/onnx-import/references.json). Needs
// onnxruntime-node (installed with the project): if it cannot load, these tests fail.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { generateDemo } from '../../../main/core/demo'
import { UserError } from '../../../main/core/errors'
import { inProcessDisplaySource } from '../../../main/ml/data/display-source'
import { candidates, opacityBoxes } from '../../../main/ml/imported/decode'
import { importModel } from '../../../main/ml/imported/import-model'
import { ImportFieldError, parseClassMapping } from '../../../main/ml/imported/model-config'
import { loadOnnxRuntime } from '../../../main/ml/onnx/runtime'
import { runPrediction } from '../../../main/ml/predict/run'
import { tempDir } from '../helpers'

const FIXTURES = join(__dirname, '../../fixtures/onnx-import')

/** Boxes in original pixels and confidences: ONNX Runtime vs PyTorch (measured: ~4e-5 px and ~6e-8). */
const BOX_TOLERANCE_PX = 0.5
const SCORE_TOLERANCE = 1e-4

interface RefBox {
  x1: number
  y1: number
  x2: number
  y2: number
  confidence: number
}
interface References {
  demo: { studies: number; testStudies: number; seed: number }
  inputSize: number
  settings: { scoreThreshold: number; iouThreshold: number; maxDetections: number; fasterrcnnScoreThreshold: number }
  images: string[]
  references: Record<'fasterrcnn' | 'yolov5' | 'yolov8', Record<string, RefBox[]>> & {
    study: Record<string, { probabilities: number[]; none: number }>
  }
}

let refs: References
let demo: string
let workspace: string
let runs: string

beforeAll(async () => {
  const { ort, reason } = await loadOnnxRuntime()
  if (!ort) throw new Error(`onnxruntime-node is needed for these tests: ${reason}`)
  refs = JSON.parse(await readFile(join(FIXTURES, 'references.json'), 'utf8')) as References
  demo = await tempDir('import-demo')
  await generateDemo(demo, refs.demo)
  workspace = await tempDir('import-ws')
  runs = await tempDir('import-runs')
}, 120_000)

const fixture = (name: string) => join(FIXTURES, name)

async function importAndPredict(
  name: 'fasterrcnn' | 'yolov5' | 'yolov8',
  options: { format: 'yolov5' | 'yolov8' | 'torchvision'; classes?: string; studyModel?: string; inputSize?: number; score?: number }
) {
  const out = join(runs, `${name}-${Math.random().toString(36).slice(2, 8)}`)
  const { config } = await importModel({
    model: fixture(`${name}.onnx`),
    format: options.format,
    out,
    classes: options.classes,
    studyModel: options.studyModel,
    inputSize: options.inputSize,
    workspace,
    scoreThreshold: options.score
  })
  const set = await runPrediction(
    { run: out, dicomDir: demo, workspace, split: 'test' },
    { source: inProcessDisplaySource }
  )
  return { config, set }
}

/**
 * Compares with PyTorch's detections, one to one: every reference box has its own predicted box with
 * the same confidence and corners (within the tolerances), and no box is left over, so the same boxes
 * survived the threshold, NMS and the top-k cut. Returns the largest differences seen.
 */
function compare(name: string, images: Array<{ imageId: string; boxes: RefBox[] }>, expected: Record<string, RefBox[]>) {
  expect(images.map((i) => i.imageId).sort()).toEqual([...refs.images].sort())
  const corners = ['x1', 'y1', 'x2', 'y2'] as const
  let box = 0
  let score = 0
  let count = 0
  for (const image of images) {
    const want = expected[image.imageId]
    expect(image.boxes.length, `${name} ${image.imageId}: boxes kept`).toBe(want.length)
    const free = new Set(image.boxes.map((_, k) => k))
    for (const ref of want) {
      const match = [...free].find(
        (k) =>
          Math.abs(image.boxes[k].confidence - ref.confidence) <= SCORE_TOLERANCE &&
          corners.every((c) => Math.abs(image.boxes[k][c] - ref[c]) <= BOX_TOLERANCE_PX)
      )
      expect(match, `${name} ${image.imageId}: PyTorch's box ${JSON.stringify(ref)} was not predicted`).toBeDefined()
      free.delete(match!)
      const got = image.boxes[match!]
      for (const c of corners) box = Math.max(box, Math.abs(got[c] - ref[c]))
      score = Math.max(score, Math.abs(got.confidence - ref.confidence))
      count++
    }
    // and highest confidence first, as PyTorch ranks them
    const ranked = image.boxes.map((b) => b.confidence)
    expect(ranked).toEqual([...ranked].sort((a, b) => b - a))
  }
  console.info(`${name}: ${count} boxes matched; max |box| ${box.toExponential(2)} px, max |score| ${score.toExponential(2)}`)
  return { box, score, count }
}

describe('imported models predict what PyTorch predicts', () => {
  it('YOLOv5 layout [1, N, 5 + nc]: conf = objectness x class, class 1 dropped by --classes 0=opacity', async () => {
    const { config, set } = await importAndPredict('yolov5', { format: 'yolov5', classes: '0=opacity' })
    expect(config.model).toMatchObject({ format: 'yolov5', inputSize: refs.inputSize, classCount: 2 })
    expect(config.preprocessing.padValue).toBe(114)
    const { count } = compare('yolov5', set.images, refs.references.yolov5)
    expect(count).toBeGreaterThan(50)
    expect(set.model).toMatchObject({ kind: 'imported', format: 'yolov5', source: 'yolov5.onnx' })
    expect(set.runtime.name).toBe('onnxruntime')
    // without a study model: box-majority study rows, none = 1 - the best box
    expect(set.settings.studyFrom).toBe('box-majority')
    for (const image of set.images) expect(image.none).toBeCloseTo(1 - (image.boxes[0]?.confidence ?? 0), 6)
  }, 120_000)

  it('YOLOv8 layout [1, 4 + nc, N], with a study classifier giving study probabilities and none', async () => {
    const { config, set } = await importAndPredict('yolov8', { format: 'yolov8', studyModel: fixture('study.onnx') })
    expect(config.study).toMatchObject({ from: 'study-model', hasNone: true, inputSize: refs.inputSize })
    const { count } = compare('yolov8', set.images, refs.references.yolov8)
    expect(count).toBeGreaterThan(50)
    for (const image of set.images) {
      const want = refs.references.study[image.imageId]
      ;['negative', 'typical', 'indeterminate', 'atypical'].forEach((cls, k) =>
        expect(Math.abs(image.studyProbs[cls as 'negative'] - want.probabilities[k])).toBeLessThan(SCORE_TOLERANCE)
      )
    }
    expect(set.settings.studyFrom).toBe('combined')
  }, 120_000)

  it('torchvision Faster R-CNN ([3, H, W] -> boxes, labels, scores; label 0 background)', async () => {
    const { config, set } = await importAndPredict('fasterrcnn', {
      format: 'torchvision',
      inputSize: refs.inputSize,
      score: refs.settings.fasterrcnnScoreThreshold
    })
    expect(config.model.outputNames).toEqual(['boxes', 'labels', 'scores'])
    expect(config.preprocessing.padValue).toBe(0)
    const { count } = compare('fasterrcnn', set.images, refs.references.fasterrcnn)
    expect(count).toBeGreaterThan(10)
  }, 120_000)
})

describe('import-model refuses what does not fit the format', () => {
  const attempt = (model: string, format: 'yolov5' | 'yolov8' | 'torchvision', extra: { inputSize?: number; classes?: string } = {}) =>
    importModel({ model: fixture(model), format, out: join(runs, `bad-${Math.random()}`), workspace, ...extra })

  it('a YOLOv8 export called yolov5 names the file, what was expected and found', async () => {
    const err = await attempt('yolov8.onnx', 'yolov5').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ImportFieldError)
    expect((err as ImportFieldError).field).toBe('format')
    expect((err as Error).message).toContain('yolov8.onnx: not a yolov5 model')
    expect((err as Error).message).toContain('expected output [1, N, 5 + nc]')
    expect((err as Error).message).toContain('found [1, 5, 1600]')
    expect((err as Error).message).toContain('try --format yolov8')
  })

  it('a YOLO export called torchvision, and a torchvision one called yolov8', async () => {
    await expect(attempt('yolov5.onnx', 'torchvision')).rejects.toThrow(
      /yolov5\.onnx: not a torchvision model: expected input \[3, H, W\].*found images \[1, 3, 320, 320\]/
    )
    await expect(attempt('fasterrcnn.onnx', 'yolov8')).rejects.toThrow(
      /fasterrcnn\.onnx: not a yolov8 model: expected input \[1, 3, S, S\], found images \[3, \?, \?\]/
    )
  })

  it('an input size the model does not take, a class it does not have, a file that is not ONNX', async () => {
    await expect(attempt('yolov8.onnx', 'yolov8', { inputSize: 640 })).rejects.toThrow(/fixed at 320 x 320; --input-size 640/)
    await expect(attempt('yolov5.onnx', 'yolov5', { classes: '3=opacity' })).rejects.toThrow(/class 3 does not exist.*2 class/)
    await expect(attempt('references.json', 'yolov8')).rejects.toThrow(/references\.json: ONNX Runtime cannot load it/)
  })
})

describe('decoding and class mapping', () => {
  it('YOLOv5 rows: cx, cy, w, h, objectness, classes -> corners, objectness x best class', () => {
    // two candidates, nc = 2: row-major [1, 2, 7]
    const raw = new Float32Array([50, 60, 20, 10, 0.5, 0.2, 0.8, 100, 100, 40, 40, 0.9, 0.9, 0.1])
    const found = candidates('yolov5', { main: raw }, [1, 2, 7])
    expect(found.boxes[0]).toEqual([40, 55, 60, 65])
    expect(found.labels).toEqual([1, 0])
    expect(found.scores[0]).toBeCloseTo(0.4, 6)
    expect(found.scores[1]).toBeCloseTo(0.81, 6)
  })

  it('YOLOv8 columns [1, 4 + nc, N] give the same candidates as the transposed rows', () => {
    const raw = new Float32Array([50, 100, 60, 100, 20, 40, 10, 40, 0.3, 0.7])
    const found = candidates('yolov8', { main: raw }, [1, 5, 2])
    expect(found.boxes).toEqual([
      [40, 55, 60, 65],
      [80, 80, 120, 120]
    ])
    expect(found.scores.map((s) => Number(s.toFixed(6)))).toEqual([0.3, 0.7])
  })

  it('keeps opacity classes only, undoes the letterbox and clips to the image', () => {
    // a 200 x 100 image letterboxed to 100: scale 0.5, offsetY 25
    const found = { boxes: [[-10, 30, 50, 60], [0, 30, 10, 40]] as Array<[number, number, number, number]>, scores: [0.9, 0.8], labels: [0, 1] }
    const boxes = opacityBoxes(found, 'yolov5', parseClassMapping('0=opacity', 'yolov5'), { scoreThreshold: 0.1, iouThreshold: 0.5, maxDetections: 10 }, { width: 200, height: 100 }, 100)
    expect(boxes).toEqual([{ x1: 0, y1: 10, x2: 100, y2: 70, confidence: 0.9 }])
  })

  it('class mappings: default, index=name, names in model order (torchvision labels start at 1)', () => {
    expect(parseClassMapping(undefined, 'yolov8').opacity).toBe('all')
    expect(parseClassMapping('0=opacity,2=opacity,1=nodule', 'yolov5').opacity).toEqual([0, 2])
    expect(parseClassMapping('nodule,opacity', 'yolov8').opacity).toEqual([1])
    expect(parseClassMapping('nodule,opacity', 'torchvision').opacity).toEqual([2])
    expect(() => parseClassMapping('1=nodule', 'yolov5')).toThrow(UserError)
  })
})
