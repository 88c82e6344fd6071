// One ONNX Runtime inference measurement for scripts/bench-train.mjs (bundled by it): the detector of
// the given head/backbone (the `tiny` preset's widths, as bench-train-runner.ts builds it) exported
// by main/ml/onnx and run in onnxruntime-node on THREADS intra-op threads, batch BATCH at SIZE px:
// the network alone (session.run, what the PyTorch script times) and end to end as `predict` runs
// it (decoding, score threshold 0.05, NMS). Also checks once that its outputs equal tfjs's on the
// batch, and with --python PYTHON that the exported file loads in Python's onnxruntime and answers
// the same scores there. Prints one JSON line.
import * as tf from '@tensorflow/tfjs-core'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { initBackend } from '../main/ml/backend/ladder'
import { createDetector } from '../main/ml/detect/detector'
import { OnnxDetectorSession, loadOnnxRuntime } from '../main/ml/onnx/runtime'
import { ONNX_OUTPUTS, exportDetectorOnnx } from '../main/ml/onnx/export'

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] : fallback
}

const size = Number(arg('size', '256'))
const head = arg('head', 'efficientdet') as 'efficientdet' | 'fcos'
const backbone = arg('backbone', 'efficientnet-b0') as 'efficientnet-b0'
const batchSize = Number(arg('batch', '8'))
const steps = Number(arg('steps', '5'))
const threads = Number(arg('threads', '1'))
const python = arg('python', '')

const { ort, reason } = await loadOnnxRuntime()
if (!ort) throw new Error(reason ?? 'onnxruntime-node is not available')
// the weights live in tfjs until exported; WASM also gives the reference outputs
await initBackend('wasm')
const detector = createDetector({ head, backbone, imageSize: size })
const exportStart = performance.now()
const session = await OnnxDetectorSession.open(ort, detector, { threads })
const exportMs = performance.now() - exportStart

let seed = 1
const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647
const images = Float32Array.from({ length: batchSize * size * size }, random)

// the same outputs as tfjs: max |difference| of the scores over the batch
const onnxScores = (await session.run(images, batchSize))[ONNX_OUTPUTS.scores]
const tfjsScores = tf.tidy(
  () =>
    detector.forwardOutputs(tf.tensor4d(images, [batchSize, size, size, 1])).scores.dataSync() as Float32Array
)
let maxScoreDiff = 0
for (let i = 0; i < tfjsScores.length; i++)
  maxScoreDiff = Math.max(maxScoreDiff, Math.abs(tfjsScores[i] - onnxScores[i]))

/** The exported file in Python's onnxruntime: its version and max |score diff| vs onnxruntime-node, or why not. */
function pythonCheck(): {
  python: string
  onnxruntime?: string
  maxScoreDiffVsNode?: number
  skipped?: string
} {
  const dir = mkdtempSync(join(tmpdir(), 'cxr-onnx-python-'))
  try {
    const model = join(dir, 'model.onnx')
    writeFileSync(model, exportDetectorOnnx(detector).bytes)
    writeFileSync(join(dir, 'images.f32'), images)
    const script = [
      'import sys, numpy as np, onnxruntime as ort',
      `s = ort.InferenceSession(sys.argv[1], providers=['CPUExecutionProvider'])`,
      `x = np.fromfile(sys.argv[2], dtype=np.float32).reshape(${batchSize}, ${size}, ${size}, 1)`,
      `s.run(['scores'], {'images': x})[0].astype(np.float32).tofile(sys.argv[3])`,
      'print(ort.__version__)'
    ].join('\n')
    const version = execFileSync(
      python,
      ['-c', script, model, join(dir, 'images.f32'), join(dir, 'scores.f32')],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe']
      }
    ).trim()
    const buffer = readFileSync(join(dir, 'scores.f32'))
    const scores = new Float32Array(buffer.buffer, buffer.byteOffset, buffer.byteLength / 4)
    let diff = 0
    for (let i = 0; i < scores.length; i++) diff = Math.max(diff, Math.abs(scores[i] - onnxScores[i]))
    return { python, onnxruntime: version, maxScoreDiffVsNode: diff }
  } catch (err) {
    const text = String((err as { stderr?: string }).stderr || (err as Error).message)
    return { python, skipped: text.trim().split('\n').pop() }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
const pythonResult = python ? pythonCheck() : null

const cpuMs: number[] = []
const time = async (run: () => Promise<unknown>) => {
  const ms: number[] = []
  cpuMs.length = 0
  for (let i = 0; i <= steps; i++) {
    const t0 = performance.now()
    const c0 = process.cpuUsage()
    await run()
    const cpu = process.cpuUsage(c0)
    if (i > 0) {
      // the first run plans and allocates
      ms.push(performance.now() - t0)
      cpuMs.push((cpu.user + cpu.system) / 1000)
    }
  }
  return ms
}
const netMs = await time(() => session.run(images, batchSize))
// what the network would run at with a free core per thread: the process's CPU time (every ONNX
// Runtime thread and Node's) spread evenly over the threads, as bench-train-torch.py counts PyTorch's
const netCpuMs = [...cpuMs]
const endToEndMs = await time(() =>
  detector.predictWith((flipped) => session.predictionOutputs(images, batchSize, flipped), batchSize, {})
)
await session.close()
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
process.stdout.write(
  JSON.stringify({
    backend: 'onnx',
    runtime: `onnxruntime-node ${ort.env.versions?.node ?? ''}`.trim(),
    provider: session.info.executionProvider,
    size,
    head,
    backbone,
    batch: batchSize,
    threads,
    parameters: detector.parameterCount().total,
    exportMs: Math.round(exportMs),
    maxScoreDiffVsTfjs: maxScoreDiff,
    ...(pythonResult ? { pythonCheck: pythonResult } : {}),
    inferImgPerSec: (batchSize * 1000) / median(endToEndMs),
    inferNetImgPerSec: (batchSize * 1000) / median(netMs),
    inferNetImgPerSecCpuBound: (batchSize * 1000) / (median(netCpuMs) / threads),
    inferMs: endToEndMs.map(Math.round),
    inferNetMs: netMs.map(Math.round),
    inferNetCpuMs: netCpuMs.map(Math.round)
  }) + '\n'
)
