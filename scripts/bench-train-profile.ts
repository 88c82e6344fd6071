// Where a two-thread training step's time goes (bundled and run by `node scripts/bench-train-profile.mjs`):
// the whole step (wall and process CPU, both threads), the time the trainer thread waited for the
// helper at batch-norm exchanges, the per-kernel CPU time of one thread's share (half the batch,
// tf.profile), and the optimizer update (merge, clip, AdamW) alone. Prints text and one JSON line.
// Usage: node out/node/bench-train-profile.js --size 256 --head efficientdet --backbone efficientnet-b0
import * as tf from '@tensorflow/tfjs-core'
import { loadavg } from 'node:os'
import { initBackend } from '../main/ml/backend/ladder'
import { formatProfile, profileStep } from '../main/ml/backend/profile'
import type { Batch } from '../main/ml/data/loader'
import { createDetector } from '../main/ml/detect/detector'
import { GradientHelper } from '../main/ml/train/gradient-helper'
import { OPTIMIZER_DEFAULTS, Optimizer } from '../main/ml/train/optimizer'
import { applyGradients, defaultMicroBatch, namedWeightVariables, sliceBatch, trainStep } from '../main/ml/train/step'

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] : fallback
}

const size = Number(arg('size', '256'))
const head = arg('head', 'efficientdet') as 'efficientdet' | 'fcos'
const backbone = arg('backbone', 'efficientnet-b0') as 'efficientnet-b0'
const batchSize = Number(arg('batch', '8'))
const steps = Number(arg('steps', '3'))

const info = await initBackend('wasm')
const detector = createDetector({ head, backbone, imageSize: size })
const variables = namedWeightVariables(detector)
const names = new Map([...variables].map(([name, variable]) => [variable, name]))
const optimizer = new Optimizer(OPTIMIZER_DEFAULTS.adamw)
const microBatch = defaultMicroBatch(info.name, size)

let seed = 1
const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647
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
  images: Float32Array.from({ length: batchSize * size * size }, random),
  size,
  boxes: Array.from({ length: batchSize }, () => [
    [40 * s, 60 * s, 100 * s, 150 * s],
    [150 * s, 70 * s, 210 * s, 170 * s]
  ]),
  studyClasses: Array.from({ length: batchSize }, (_, i) => i % 4),
  detectionValid: Array.from({ length: batchSize }, () => true)
}

const cpuMs = (start: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(start)
  return (used.user + used.system) / 1000
}

// 1. the two-thread step as the trainer runs it
const helper = await GradientHelper.start(detector, info.name)
await helper.step(detector, names, optimizer, batch, 1e-4, 10, microBatch, []) // compiles, allocates
const twoThread: Array<{ wallMs: number; cpuMs: number; waitMs: number; turns: number }> = []
for (let i = 0; i < steps; i++) {
  const before = helper.exchangeStats
  const wall = performance.now()
  const cpu = process.cpuUsage()
  await helper.step(detector, names, optimizer, batch, 1e-4, 10, microBatch, [])
  const after = helper.exchangeStats
  twoThread.push({
    wallMs: performance.now() - wall,
    cpuMs: cpuMs(cpu),
    waitMs: after.waitMs - before.waitMs,
    turns: after.turns - before.turns
  })
}
await helper.close()

// 2. one thread's share (half the batch) by kernel, in this process's CPU time
const half = sliceBatch(batch, 0, Math.ceil(batchSize / 2))
trainStep(detector, names, optimizer, half, 1e-4, 10, microBatch)
const share = await profileStep(() => {
  trainStep(detector, names, optimizer, half, 1e-4, 10, microBatch)
})

// 3. the update alone: merge of two gradient sets, clipping, AdamW
const update: number[] = []
for (let i = 0; i <= steps; i++) {
  const grads = new Map(
    [...variables.values()].map((v) => [v.name, tf.tidy(() => tf.add(tf.randomNormal(v.shape), tf.randomNormal(v.shape)))])
  )
  const cpu = process.cpuUsage()
  applyGradients(detector, names, optimizer, grads, 1e-4, 1e-3)
  if (i > 0) update.push(cpuMs(cpu))
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
const m = (key: 'wallMs' | 'cpuMs' | 'waitMs' | 'turns') => median(twoThread.map((t) => t[key]))
console.log(
  `${head}/${backbone} ${size} px, batch ${batchSize}, micro-batch ${microBatch} per thread, ${variables.size} weights; load ${loadavg()
    .map((v) => v.toFixed(1))
    .join(' ')}`
)
console.log(
  `two-thread step: ${m('wallMs').toFixed(0)} ms wall, ${m('cpuMs').toFixed(0)} ms CPU (both threads), trainer waited ${m('waitMs').toFixed(0)} ms at ${m('turns')} batch-norm exchanges`
)
console.log(`update alone (clip + AdamW, ${variables.size} weights): ${median(update).toFixed(0)} ms CPU`)
console.log(`one thread's share (${half.samples.length} images), by kernel:`)
console.log(formatProfile(share, 16))
process.stdout.write(
  JSON.stringify({
    size,
    head,
    backbone,
    batch: batchSize,
    twoThread,
    updateCpuMs: update,
    share: { cpuMs: share.cpuMs, wallMs: share.wallMs, kernels: share.kernels.slice(0, 20) },
    loadAverage: loadavg()
  }) + '\n'
)
