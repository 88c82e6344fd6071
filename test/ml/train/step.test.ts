import { beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '../../../main/ml/backend/ladder'
import { createDetector } from '../../../main/ml/detect/detector'
import { Optimizer, OPTIMIZER_DEFAULTS } from '../../../main/ml/train/optimizer'
import { defaultMicroBatch, defaultThreads, namedWeightVariables, trainStep } from '../../../main/ml/train/step'
import { SIZE, identicalBatch } from './batches'

beforeAll(async () => {
  // through the ladder: it fixes tfjs-backend-cpu's ResizeNearestNeighborGrad, wrong for batch > 1
  await initBackend('cpu')
}, 60_000)

function stepWith(microBatch: number): Float32Array[] {
  const detector = createDetector({ imageSize: SIZE, widthMultiplier: 0.25, depthMultiplier: 0.25, seed: 11 })
  const variables = namedWeightVariables(detector)
  const names = new Map([...variables].map(([name, variable]) => [variable, name]))
  const optimizer = new Optimizer({ ...OPTIMIZER_DEFAULTS.sgd, momentum: 0, weightDecay: 0 })
  const result = trainStep(detector, names, optimizer, identicalBatch(), 0.1, 0, microBatch)
  expect(Number.isFinite(result.losses.total)).toBe(true)
  const weights = [...variables.values()].map((v) => Float32Array.from(v.dataSync()))
  optimizer.dispose()
  detector.dispose()
  return weights
}

describe('trainStep with micro-batches', () => {
  it('accumulates gradients so that a split batch makes the same update as the whole batch', () => {
    const whole = stepWith(4)
    const split = stepWith(1)
    let worst = 0
    whole.forEach((w, i) => w.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - split[i][j])))))
    expect(worst).toBeLessThan(1e-4)
    // and the update did something
    const fresh = createDetector({ imageSize: SIZE, widthMultiplier: 0.25, depthMultiplier: 0.25, seed: 11 })
    const start = [...namedWeightVariables(fresh).values()].map((v) => Float32Array.from(v.dataSync()))
    fresh.dispose()
    expect(start.some((w, i) => w.some((v, j) => v !== whole[i][j]))).toBe(true)
  })

  it('sizes micro-batches to the WASM heap by image area', () => {
    expect(defaultMicroBatch('wasm', 256)).toBe(8)
    expect(defaultMicroBatch('wasm', 512)).toBe(2)
    expect(defaultMicroBatch('wasm', 1024)).toBe(1)
    expect(defaultMicroBatch('tensorflow', 1024)).toBe(Number.POSITIVE_INFINITY)
  })

  it('trains on two threads by default where two cores exist and the backend uses one core per thread', () => {
    expect(defaultThreads('wasm', 2)).toBe(2)
    expect(defaultThreads('cpu', 8)).toBe(2)
    expect(defaultThreads('wasm', 1)).toBe(1)
    // native TensorFlow spreads its kernels over every core itself
    expect(defaultThreads('tensorflow', 8)).toBe(1)
  })
})
