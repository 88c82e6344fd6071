import { beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '../../../main/ml/backend/ladder'
import type { Batch } from '../../../main/ml/data/loader'
import { createDetector } from '../../../main/ml/detect/detector'
import { GradientHelper } from '../../../main/ml/train/gradient-helper'
import { Optimizer, OPTIMIZER_DEFAULTS } from '../../../main/ml/train/optimizer'
import { namedWeightVariables, trainStep } from '../../../main/ml/train/step'
import { identicalBatch, SIZE } from './batches'

beforeAll(async () => {
  await initBackend('wasm')
}, 60_000)

/** Four different images (brightness, pattern and box differ), so a part that got the wrong images shows. */
function variedBatch(): Batch {
  const batch = identicalBatch()
  for (let k = 0; k < 4; k++) {
    const image = batch.images.subarray(k * SIZE * SIZE, (k + 1) * SIZE * SIZE)
    for (let i = 0; i < image.length; i++) image[i] = (((i * (k + 3) * 7919) % 255) / 255) * (0.4 + 0.2 * k)
  }
  batch.boxes = batch.boxes.map((_, k) => [[10 + 8 * k, 20 + 5 * k, 50 + 12 * k, 70 + 10 * k]])
  batch.studyClasses = [1, 2, 3, 1]
  return batch
}

const DETECTOR = { imageSize: SIZE, widthMultiplier: 0.25, depthMultiplier: 0.25, seed: 11 }

/** Three optimizer steps on `batch` (run through the helper, or as micro-batches); weights and statistics after. */
async function stepOn(batch: Batch, how: { microBatch: number } | { helper: true }) {
  const detector = createDetector(DETECTOR)
  const variables = namedWeightVariables(detector)
  const names = new Map([...variables].map(([name, variable]) => [variable, name]))
  const optimizer = new Optimizer({ ...OPTIMIZER_DEFAULTS.adamw })
  const losses: number[] = []
  const helper = 'helper' in how ? await GradientHelper.start(detector, 'wasm') : null
  try {
    for (let step = 0; step < 3; step++) {
      const result = helper
        ? await helper.step(detector, names, optimizer, batch, 0.01, 0, Number.POSITIVE_INFINITY, [])
        : trainStep(detector, names, optimizer, batch, 0.01, 0, (how as { microBatch: number }).microBatch)
      losses.push(result.losses.total)
    }
  } finally {
    await helper?.close()
  }
  const weights = [...detector.getWeights().values()].map((w) => Float32Array.from(w.values))
  optimizer.dispose()
  detector.dispose()
  return { losses, weights }
}

describe('the gradient helper thread', () => {
  it('steps split with a helper thread make the same updates as micro-batches of half the batch, statistics included', async () => {
    const batch = variedBatch()
    const reference = await stepOn(batch, { microBatch: 2 })
    const parallel = await stepOn(batch, { helper: true })
    parallel.losses.forEach((loss, i) => expect(loss).toBeCloseTo(reference.losses[i], 4))
    let worst = 0
    reference.weights.forEach((w, i) =>
      w.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - parallel.weights[i][j]))))
    )
    expect(worst).toBeLessThan(1e-4)
    // not the same as the whole batch at once (batch statistics are per part), so the comparison
    // above would tell a helper that computed on the wrong part
    const whole = await stepOn(batch, { microBatch: 4 })
    expect(Math.abs(whole.losses[0] - reference.losses[0])).toBeGreaterThan(1e-4)
  }, 180_000)
})
