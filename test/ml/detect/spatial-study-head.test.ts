// The spatial study head: its coordinate channels, its gradients (against finite differences and
// tf.variableGrads), its independence from the other images of a batch (what makes a two-thread step
// equal a one-thread one), that it learns where an opacity is when the global head cannot, and that
// runs saved before it existed still load with the global head.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs-core'
import { createDetector, loadDetector } from '../../../main/ml/detect'
import { SpatialStudyHead, coordinateChannels } from '../../../main/ml/detect/spatial-study-head'
import { StudyHead } from '../../../main/ml/detect/study-head'
import { variableGrads } from '../../../main/ml/model/backprop'
import { mulberry32 } from '../../../main/core/export/split'
import { TEST_DETECTOR, useWasmBackend } from './fixtures'
import { syntheticBatch, type SyntheticBatch } from './synthetic'

let dir: string
let batch: SyntheticBatch

beforeAll(async () => {
  await useWasmBackend()
  batch = syntheticBatch(4, 64, 3)
  dir = await mkdtemp(join(tmpdir(), 'cxr-spatial-'))
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

function randomTensor(shape: number[], seed: number, scale = 1): tf.Tensor {
  const next = mulberry32(seed)
  const size = shape.reduce((a, b) => a * b, 1)
  return tf.tensor(
    Float32Array.from({ length: size }, () => (next() - 0.5) * 2 * scale),
    shape
  )
}

describe('coordinate channels', () => {
  it('are x and y at pixel centres in [-1, 1] and |x|, the same on both sides of the midline', () => {
    const c = coordinateChannels(2, 4)
    const at = (y: number, x: number) => Array.from(c.slice((y * 4 + x) * 3, (y * 4 + x) * 3 + 3))
    expect(at(0, 0)).toEqual([-0.75, -0.5, 0.75])
    expect(at(1, 3)).toEqual([0.75, 0.5, 0.75])
    expect(at(0, 1)).toEqual([-0.25, -0.5, 0.25])
    expect(at(1, 2)).toEqual([0.25, 0.5, 0.25])
  })
})

describe('spatial study head', () => {
  const options = { levelChannels: 5, pooledChannels: 3, studyClasses: 4, hidden: 6, heads: 2 }
  let level: tf.Tensor4D
  let pooled: tf.Tensor2D
  let studyWeights: tf.Tensor
  let noneWeights: tf.Tensor
  beforeAll(() => {
    level = randomTensor([2, 4, 4, 5], 11) as tf.Tensor4D
    pooled = randomTensor([2, 3], 12) as tf.Tensor2D
    studyWeights = randomTensor([2, 4], 13)
    noneWeights = randomTensor([2, 1], 14)
  })

  function weightedLoss(head: SpatialStudyHead): tf.Scalar {
    const { studyLogits, noneLogits } = head.forward(level, pooled)
    return tf.add(tf.sum(tf.mul(studyLogits, studyWeights)), tf.sum(tf.mul(noneLogits, noneWeights)))
  }

  it('has gradients equal to finite differences and to tf.variableGrads for every weight', () => {
    const head = new SpatialStudyHead(options)
    // sharper attention than at initialisation, so the softmax's gradient is not negligible
    head.attention.kernel.assign(tf.mul(randomTensor(head.attention.kernel.shape, 15), 2))
    const variables = head.namedVariables()
    const ours = variableGrads(
      () => weightedLoss(head),
      variables.map((v) => v.variable)
    )
    const theirs = tf.variableGrads(
      () => weightedLoss(head),
      variables.map((v) => v.variable)
    )
    const lossAt = () => tf.tidy(() => weightedLoss(head).dataSync()[0])
    const eps = 1e-2
    for (const { name, variable } of variables) {
      const grad = ours.grads[variable.name].dataSync()
      const reference = theirs.grads[variable.name].dataSync()
      const scale = Math.max(1e-3, ...Array.from(reference, Math.abs))
      grad.forEach((g, i) => expect(Math.abs(g - reference[i]) / scale, `${name}[${i}]`).toBeLessThan(1e-5))
      // central differences on a few entries of each weight
      const values = variable.dataSync().slice()
      for (const i of [0, Math.floor(values.length / 2), values.length - 1]) {
        const probe = (delta: number) => {
          const changed = values.slice()
          changed[i] += delta
          variable.assign(tf.tensor(changed, variable.shape))
          return lossAt()
        }
        const numeric = (probe(eps) - probe(-eps)) / (2 * eps)
        variable.assign(tf.tensor(values, variable.shape))
        expect(Math.abs(numeric - grad[i]), `${name}[${i}]: ${numeric} vs ${grad[i]}`).toBeLessThan(
          2e-2 * Math.max(1, Math.abs(grad[i]))
        )
      }
    }
    tf.dispose([ours.value, theirs.value, ...Object.values(ours.grads), ...Object.values(theirs.grads)])
    head.dispose()
  })

  it("gives each image the logits it gets alone: nothing mixes a batch's images", () => {
    const head = new SpatialStudyHead(options)
    const together = tf.tidy(() => head.forward(level, pooled).studyLogits.arraySync())
    for (let b = 0; b < 2; b++) {
      const alone = tf.tidy(() =>
        head
          .forward(tf.slice(level, [b, 0, 0, 0], [1, -1, -1, -1]), tf.slice(pooled, [b, 0], [1, -1]))
          .studyLogits.arraySync()
      )
      alone[0].forEach((v, k) => expect(v).toBeCloseTo(together[b][k], 5))
    }
    head.dispose()
  })

  it('learns central from peripheral opacities, which the globally pooled head cannot tell apart', () => {
    // one "opacity" channel lit at one position: central (columns 3-4) for class 0, peripheral
    // (columns 0 and 7, either side) for class 1; the mean over positions is the same for both
    const size = 8
    const count = 16
    const next = mulberry32(3)
    const pixels = new Float32Array(count * size * size * 2)
    const labels: number[] = []
    for (let b = 0; b < count; b++) {
      const label = b % 2
      const row = Math.floor(next() * size)
      const column = label === 0 ? 3 + Math.floor(next() * 2) : next() < 0.5 ? 0 : 7
      pixels[((b * size + row) * size + column) * 2] = 1
      labels.push(label)
    }
    const x = tf.tensor4d(pixels, [count, size, size, 2])
    const oneHot = tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), 4), 'float32')
    const noPooled = tf.zeros([count, 1]) as tf.Tensor2D
    const head = new SpatialStudyHead({ levelChannels: 2, pooledChannels: 1, studyClasses: 4 })
    const optimizer = tf.train.adam(0.02)
    const loss = () =>
      tf.losses.softmaxCrossEntropy(oneHot, head.forward(x, noPooled).studyLogits) as tf.Scalar
    for (let step = 0; step < 150; step++) {
      const { value, grads } = variableGrads(
        loss,
        head.namedVariables().map((v) => v.variable)
      )
      optimizer.applyGradients(grads as Record<string, tf.Variable>)
      tf.dispose([value, ...Object.values(grads)])
    }
    const predicted = tf.tidy(
      () => tf.argMax(head.forward(x, noPooled).studyLogits, 1).arraySync() as number[]
    )
    expect(predicted).toEqual(labels)
    // the global head sees only the mean over positions: identical for every image
    const global = new StudyHead(2, 4)
    const means = tf.tidy(() => global.forward(tf.mean(x, [1, 2]) as tf.Tensor2D).studyLogits.arraySync())
    for (const row of means) row.forEach((v, k) => expect(v).toBeCloseTo(means[0][k], 5))
    tf.dispose([x, oneHot, noPooled])
    head.dispose()
    global.dispose()
  })
})

describe('detectors with a spatial study head', () => {
  it('train the spatial weights, save and load them, and record the head in the config', async () => {
    const detector = createDetector({ ...TEST_DETECTOR, studyHead: 'spatial', seed: 4 })
    expect(detector.net.imageHead).toBeInstanceOf(SpatialStudyHead)
    const before = detector.getWeights()
    detector.trainStep(tf.train.sgd(0.05), batch.images, batch.targets)
    const after = detector.getWeights()
    for (const name of [
      'study/conv/kernel',
      'study/coords/kernel',
      'study/attention/kernel',
      'study/study/kernel'
    ]) {
      expect(before.has(name), name).toBe(true)
      expect(Array.from(after.get(name)!.values)).not.toEqual(Array.from(before.get(name)!.values))
    }
    const saved = join(dir, 'spatial')
    await detector.save(saved)
    const loaded = await loadDetector(saved)
    expect(loaded.config.studyHead).toBe('spatial')
    expect(await loaded.predict(batch.images, { scoreThreshold: 0 })).toEqual(
      await detector.predict(batch.images, { scoreThreshold: 0 })
    )
    detector.dispose()
    loaded.dispose()
  })

  it('a model saved before the spatial head (no studyHead in its config) loads with the global head', async () => {
    const detector = createDetector({ ...TEST_DETECTOR, studyHead: 'global', seed: 6 })
    const saved = join(dir, 'old')
    await detector.save(saved)
    const manifestPath = join(saved, 'model.json')
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8'))
    delete manifest.config.studyHead
    await writeFile(manifestPath, JSON.stringify(manifest))
    const loaded = await loadDetector(saved)
    expect(loaded.config.studyHead).toBe('global')
    expect(loaded.net.imageHead).toBeInstanceOf(StudyHead)
    expect(await loaded.predict(batch.images, { scoreThreshold: 0 })).toEqual(
      await detector.predict(batch.images, { scoreThreshold: 0 })
    )
    detector.dispose()
    loaded.dispose()
  })
})
