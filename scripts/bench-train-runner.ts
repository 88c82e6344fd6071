// One throughput measurement for scripts/bench-train.mjs (bundled by it): a detector of the given
// head/backbone (the `tiny` preset's widths) at SIZE px, the trainer's real step (forward, backward,
// global-norm clipping, AdamW) on a synthetic batch, then batched inference with NMS.
// Prints one JSON line.
import * as tf from '@tensorflow/tfjs-core'
import { initBackend, type BackendChoice } from '../main/ml/backend/ladder'
import { threadCpuMs } from '../main/ml/backend/profile'
import type { Batch } from '../main/ml/data/loader'
import { createDetector } from '../main/ml/detect/detector'
import { OPTIMIZER_DEFAULTS, Optimizer } from '../main/ml/train/optimizer'
import { GradientHelper } from '../main/ml/train/gradient-helper'
import { defaultMicroBatch, namedWeightVariables, trainStep } from '../main/ml/train/step'

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] : fallback
}

const backend = arg('backend', 'wasm') as BackendChoice
const size = Number(arg('size', '256'))
const head = arg('head', 'efficientdet') as 'efficientdet' | 'fcos'
const backbone = arg('backbone', 'efficientnet-b0') as 'efficientnet-b0'
const batchSize = Number(arg('batch', '8'))
const steps = Number(arg('steps', '3'))
// 2: the trainer's data-parallel step (a helper thread takes half of each batch), as `train` runs by default
const threads = Number(arg('threads', '1'))

const info = await initBackend(backend)
const detector = createDetector({ head, backbone, imageSize: size })
const variables = namedWeightVariables(detector)
const names = new Map([...variables].map(([name, variable]) => [variable, name]))
const optimizer = new Optimizer(OPTIMIZER_DEFAULTS.adamw)

// a fixed pseudo-random batch with two boxes per image: content does not change the work done
let seed = 1
const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647
const images = Float32Array.from({ length: batchSize * size * size }, random)
const s = size / 256
const batch: Batch = {
  samples: Array.from({ length: batchSize }, (_, i) => ({
    imageId: `bench${i}`,
    studyId: `s${i}`,
    relPath: '',
    absPath: '',
    width: size,
    height: size,
    fileSize: 0,
    mtimeMs: 0,
    boxes: [],
    studyClass: 'typical'
  })),
  images,
  size,
  boxes: Array.from({ length: batchSize }, () => [
    [40 * s, 60 * s, 100 * s, 150 * s],
    [150 * s, 70 * s, 210 * s, 170 * s]
  ]),
  studyClasses: Array.from({ length: batchSize }, (_, i) => i % 4),
  detectionValid: Array.from({ length: batchSize }, () => true)
}

const helper = threads > 1 ? await GradientHelper.start(detector, info.name) : null
const microBatch = defaultMicroBatch(info.name, size)
const stepMs: number[] = []
// CPU time of each training thread per step: on a shared machine the wall clock measures the
// neighbours too, and two threads that meet at every batch norm wait whenever either is preempted
const trainerCpuMs: number[] = []
const helperCpuMs: number[] = []
for (let i = 0; i <= steps; i++) {
  const t0 = performance.now()
  const cpu0 = threadCpuMs()
  if (helper) await helper.step(detector, names, optimizer, batch, 1e-4, 10, microBatch, [])
  else trainStep(detector, names, optimizer, batch, 1e-4, 10, microBatch)
  if (i === 0) continue // the first step compiles and allocates
  stepMs.push(performance.now() - t0)
  trainerCpuMs.push(threadCpuMs() - cpu0)
  if (helper) helperCpuMs.push(helper.lastHelperCpuMs)
}
await helper?.close()
const input = tf.tensor4d(images, [batchSize, size, size, 1])
// end to end as `predict` runs it (decoding, score threshold 0.05, NMS of up to 1000 candidates per
// image: a random detector passes many), and the network alone (a threshold no score reaches), which
// is what the PyTorch script times
const timeInference = async (options: { scoreThreshold?: number }) => {
  const ms: number[] = []
  for (let i = 0; i <= steps; i++) {
    const t0 = performance.now()
    await detector.predict(input, options)
    if (i > 0) ms.push(performance.now() - t0)
  }
  return ms
}
const inferMs = await timeInference({})
const inferNetMs = await timeInference({ scoreThreshold: 2 })
input.dispose()
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
process.stdout.write(
  JSON.stringify({
    backend: info.name,
    simd: info.simd ?? null,
    size,
    head,
    backbone,
    batch: batchSize,
    threads,
    microBatch: Math.min(batchSize, defaultMicroBatch(info.name, size)),
    parameters: detector.parameterCount().total,
    trainImgPerSec: (batchSize * 1000) / median(stepMs),
    // what the step would take with a free core per thread: its busiest thread's CPU time
    trainImgPerSecCpuBound:
      (batchSize * 1000) /
      median(stepMs.map((_, i) => Math.max(trainerCpuMs[i], helper ? helperCpuMs[i] : 0))),
    trainerCpuMs: trainerCpuMs.map(Math.round),
    helperCpuMs: helperCpuMs.map(Math.round),
    inferImgPerSec: (batchSize * 1000) / median(inferMs),
    inferNetImgPerSec: (batchSize * 1000) / median(inferNetMs),
    stepMs: stepMs.map(Math.round),
    inferMs: inferMs.map(Math.round)
  }) + '\n'
)
