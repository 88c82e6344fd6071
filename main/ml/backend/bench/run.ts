// One benchmark measurement in a fresh process (scripts/bench-kernels.mjs runs one per backend):
// train and inference throughput of the benchmark net on one thread. (The trainer's two-thread
// step, gradient-helper.ts, is measured on the real detectors by `npm run bench:train`.)
// Usage: node out/bench/bench-run.mjs --backend wasm --steps 5 --batch 8 [--profile]
// Prints one JSON line on stdout.
import * as tf from '@tensorflow/tfjs-core'
import { loadavg } from 'node:os'
import { initBackend, type BackendChoice } from '../ladder'
import { formatProfile, profileStep } from '../profile'
import { BenchNet, syntheticBatch } from './net'

interface Options {
  backend: BackendChoice
  steps: number
  batch: number
  size: number
  profile: boolean
}

function parse(argv: string[]): Options {
  const value = (name: string, fallback: string) => {
    const at = argv.lastIndexOf(`--${name}`)
    return at >= 0 && argv[at + 1] ? argv[at + 1]! : fallback
  }
  return {
    backend: value('backend', 'wasm') as BackendChoice,
    steps: Number(value('steps', '5')),
    batch: Number(value('batch', '8')),
    size: Number(value('size', '256')),
    profile: argv.includes('--profile')
  }
}

/** Seconds of wall and of this process's CPU for one call. */
async function timed(f: () => unknown): Promise<{ wall: number; cpu: number }> {
  const wallStart = performance.now()
  const cpuStart = process.cpuUsage()
  await f()
  const cpu = process.cpuUsage(cpuStart)
  return { wall: (performance.now() - wallStart) / 1000, cpu: (cpu.user + cpu.system) / 1e6 }
}

async function singleProcess(options: Options) {
  const info = await initBackend(options.backend)
  const net = new BenchNet()
  const batch = syntheticBatch(options.batch, options.size)
  const optimizer = tf.train.adam(1e-3)
  const trainStep = () => {
    const loss = optimizer.minimize(() => net.loss(batch), true, net.trainable)!
    loss.dataSync()
    loss.dispose()
  }
  const inferStep = () =>
    tf.tidy(() => {
      const { studyLogits, boxMap } = net.forward(batch.images, false)
      studyLogits.dataSync()
      boxMap.dataSync()
    })
  // The pure-JS CPU backend needs minutes per step: JIT warm-up is noise there, so none.
  const warmup = options.backend === 'cpu' ? 0 : 2
  for (let i = 0; i < warmup; i++) trainStep()
  const train = []
  for (let i = 0; i < options.steps; i++) train.push(await timed(trainStep))
  if (warmup > 0) inferStep()
  const infer = []
  for (let i = 0; i < options.steps; i++) infer.push(await timed(inferStep))
  const profile = options.profile ? formatProfile(await profileStep(trainStep), 14) : undefined
  return { info, parameters: net.parameterCount, train, infer, profile }
}

const options = parse(process.argv.slice(2))
const loadBefore = loadavg()[0]!
const result = await singleProcess(options)
const rate = (seconds: number) => options.batch / seconds
process.stdout.write(
  JSON.stringify({
    backend: result.info.name,
    description: result.info.device,
    simd: result.info.simd,
    batch: options.batch,
    size: options.size,
    parameters: result.parameters,
    trainImgPerSec: result.train.map((t) => rate(t.wall)),
    inferImgPerSec: result.infer.map((t) => rate(t.wall)),
    // Per CPU-second of this process: what an idle core would give, robust when the machine is shared.
    trainImgPerCpuSec: result.train.map((t) => rate(t.cpu)),
    inferImgPerCpuSec: result.infer.map((t) => rate(t.cpu)),
    loadAverage: [loadBefore, loadavg()[0]],
    profile: result.profile
  }) + '\n'
)
