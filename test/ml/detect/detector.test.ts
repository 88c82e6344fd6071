import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs-core'
import { FileReadError, UserError } from '../../../main/core/errors'
import {
  createDetector,
  loadDetector,
  readDetectorManifest,
  type Detector,
  type NamedWeights
} from '../../../main/ml/detect'
import { TEST_DETECTOR, useWasmBackend } from './fixtures'
import { syntheticBatch, type SyntheticBatch } from './synthetic'

let dir: string
let batch: SyntheticBatch

beforeAll(async () => {
  await useWasmBackend()
  batch = syntheticBatch(4, 64, 3)
  dir = await mkdtemp(join(tmpdir(), 'cxr-detector-'))
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

function changed(
  before: NamedWeights,
  after: NamedWeights,
  prefix: string
): { changed: number; total: number } {
  let count = 0
  let total = 0
  for (const [name, weight] of before) {
    if (!name.startsWith(prefix)) continue
    total++
    const now = after.get(name)!.values
    if (weight.values.some((v, i) => v !== now[i])) count++
  }
  return { changed: count, total }
}

function step(detector: Detector): void {
  detector.trainStep(tf.train.sgd(0.05), batch.images, batch.targets)
}

describe('saving and loading', () => {
  it('load(save(model)) predicts exactly what the model predicted, with a readable manifest', async () => {
    const detector = createDetector({ ...TEST_DETECTOR, seed: 5 })
    step(detector) // move batch-norm statistics off their initial values
    const expected = await detector.predict(batch.images, { scoreThreshold: 0 })
    const saved = join(dir, 'model-a')
    await detector.save(saved, { epoch: 1 })
    const loaded = await loadDetector(saved)
    expect(await loaded.predict(batch.images, { scoreThreshold: 0 })).toEqual(expected)
    expect(loaded.getWeights()).toEqual(detector.getWeights())

    const manifest = await readDetectorManifest(saved)
    expect(manifest).toMatchObject({
      format: 'cxr-studio-detector',
      classes: ['opacity'],
      studyClasses: ['negative', 'typical', 'indeterminate', 'atypical'],
      inputSize: { width: 64, height: 64, channels: 1 },
      preprocessing: { mean: 0.449, std: 0.226 },
      initialisation: { kind: 'random', seed: 5 },
      metadata: { epoch: 1 },
      weightsFile: 'weights.bin'
    })
    expect(manifest.config).toEqual(detector.config)
    expect(loaded.initialisation).toEqual({
      kind: 'checkpoint',
      source: saved,
      from: { kind: 'random', seed: 5 }
    })
    detector.dispose()
    loaded.dispose()
  })

  it('load(save(model)) also reproduces an FCOS head on a MobileNetV2 backbone', async () => {
    const detector = createDetector({
      ...TEST_DETECTOR,
      head: 'fcos',
      backbone: 'mobilenetv2',
      widthMultiplier: 0.35
    })
    step(detector)
    const saved = join(dir, 'model-fcos')
    await detector.save(saved)
    const loaded = await loadDetector(saved)
    expect(loaded.config).toEqual(detector.config)
    expect(await loaded.predict(batch.images, { scoreThreshold: 0 })).toEqual(
      await detector.predict(batch.images, { scoreThreshold: 0 })
    )
    detector.dispose()
    loaded.dispose()
  })

  it('refuses weights that do not match the manifest, naming the file', async () => {
    const detector = createDetector(TEST_DETECTOR)
    const saved = join(dir, 'model-b')
    await detector.save(saved)
    const weightsPath = join(saved, 'weights.bin')
    const bytes = await readFile(weightsPath)
    bytes[100] ^= 0xff
    await writeFile(weightsPath, bytes)
    await expect(loadDetector(saved)).rejects.toThrow(
      `${weightsPath}: weights do not match model.json (checksum differs)`
    )
    await expect(loadDetector(join(dir, 'nothing-here'))).rejects.toThrow(FileReadError)
    detector.dispose()
  })

  it('round-trips weights as plain data and rejects weights of another shape', () => {
    const a = createDetector({ ...TEST_DETECTOR, seed: 1 })
    const b = createDetector({ ...TEST_DETECTOR, seed: 2 })
    expect(a.getWeights()).not.toEqual(b.getWeights())
    b.setWeights(a.getWeights())
    expect(b.getWeights()).toEqual(a.getWeights())
    const wider = createDetector({ ...TEST_DETECTOR, neckChannels: 24 })
    expect(() => wider.setWeights(a.getWeights())).toThrow(
      /neck\/lateral\.P3\/conv\/kernel: shape \[1,1,16,16\] but the model has \[1,1,16,24\]/
    )
    for (const d of [a, b, wider]) d.dispose()
  })
})

describe('losses on partly labelled images', () => {
  it('a positive image without boxes adds no detection loss, and an unknown study class no study loss', () => {
    const detector = createDetector(TEST_DETECTOR)
    const image = tf.slice(batch.images, [0, 0, 0, 0], [1, 64, 64, 1])
    const lossOf = (hasOpacity: boolean | null, studyClass: number | null) =>
      tf.tidy(() => {
        const l = detector.loss(
          image,
          { boxes: [[]], hasOpacity: [hasOpacity], studyClass: [studyClass] },
          { training: false }
        )
        return {
          cls: l.cls.dataSync()[0],
          box: l.box.dataSync()[0],
          study: l.study.dataSync()[0],
          none: l.none.dataSync()[0]
        }
      })
    // "none" image: every anchor is background, so classification loss counts
    expect(lossOf(false, 0).cls).toBeGreaterThan(0)
    // opacity reported but no box drawn: neither background nor foreground can be trusted
    expect(lossOf(true, 1)).toMatchObject({ cls: 0, box: 0 })
    expect(lossOf(true, 1).none).toBeGreaterThan(0)
    expect(lossOf(null, null)).toEqual({ cls: 0, box: 0, study: 0, none: 0 })
    image.dispose()
    detector.dispose()
  })
})

describe('fine-tuning controls', () => {
  it('lists parameter groups from the input: backbone stages, then neck, head and study head', () => {
    const detector = createDetector(TEST_DETECTOR)
    const groups = detector.parameterGroups()
    expect(groups.map((g) => g.name)).toEqual([
      'backbone/stem',
      ...[1, 2, 3, 4, 5, 6, 7].map((s) => `backbone/stage${s}`),
      'backbone/top',
      'neck',
      'head',
      'study'
    ])
    expect(groups.reduce((n, g) => n + g.parameterCount, 0)).toBe(detector.parameterCount().total)
    detector.dispose()
  })

  it('a frozen group keeps its weights and batch-norm statistics through an optimiser step while the others learn', () => {
    const detector = createDetector(TEST_DETECTOR)
    detector.setTrainable('backbone', false)
    expect(
      detector
        .parameterGroups()
        .filter((g) => g.kind === 'backbone')
        .every((g) => !g.trainable && g.batchNormFrozen)
    ).toBe(true)
    expect(detector.parameterCount().trainable).toBeLessThan(detector.parameterCount().total)
    const before = detector.getWeights()
    step(detector)
    const after = detector.getWeights()
    expect(changed(before, after, 'backbone/').changed).toBe(0)
    // the neck learns (weights and running statistics); levels without positives get ~1e-7
    // gradients here, too small to move a weight of 1.0 in float32, hence not every tensor
    const neck = changed(before, after, 'neck/')
    expect(neck.changed).toBeGreaterThan(neck.total * 0.75)
    expect(changed(before, after, 'neck/lateral.').changed).toBe(
      changed(before, after, 'neck/lateral.').total
    )

    // unfreeze only the last stage (freeze_unfreeze / unfreeze_milestones do this stage by stage)
    detector.setTrainable('backbone/stage7', true)
    step(detector)
    const later = detector.getWeights()
    expect(changed(after, later, 'backbone/blocks.').changed).toBeGreaterThan(0)
    expect(changed(after, later, 'backbone/stem/').changed).toBe(0)
    const lastStage = detector.parameterGroups().find((g) => g.name === 'backbone/stage7')!
    expect(changed(after, later, '').changed).toBeLessThan(after.size)
    for (const name of lastStage.variableNames) expect(changed(after, later, name).changed).toBe(1)
    detector.dispose()
  })

  it('frozen batch-norm statistics stay fixed while the group still trains', () => {
    const detector = createDetector(TEST_DETECTOR)
    detector.setBatchNormFrozen('neck', true)
    const before = detector.getWeights()
    step(detector)
    const after = detector.getWeights()
    const stats = [...before.keys()].filter((n) => n.startsWith('neck/') && /moving_(mean|variance)$/.test(n))
    expect(stats.length).toBeGreaterThan(0)
    for (const name of stats) expect(after.get(name)).toEqual(before.get(name))
    expect(changed(before, after, 'neck/lateral.P3/conv/kernel').changed).toBe(1)
    detector.dispose()
  })

  it('says which groups exist when asked for an unknown one, and refuses to train with everything frozen', () => {
    const detector = createDetector(TEST_DETECTOR)
    expect(() => detector.setTrainable('encoder', false)).toThrow(
      /unknown parameter group encoder; groups are backbone\/stem, backbone\/stage1/
    )
    detector.setTrainable('*', false)
    expect(() => step(detector)).toThrow(new UserError('nothing to train: every parameter group is frozen'))
    detector.dispose()
  })

  it('gradients exchanged as plain data give the same step as a local one (for data-parallel workers)', () => {
    const local = createDetector({ ...TEST_DETECTOR, seed: 9 })
    const remote = createDetector({ ...TEST_DETECTOR, seed: 9 })
    const localLosses = local.trainStep(tf.train.sgd(0.1), batch.images, batch.targets)
    const { losses, gradients } = remote.computeGradients(batch.images, batch.targets)
    remote.applyGradients(tf.train.sgd(0.1), gradients)
    expect(losses).toEqual(localLosses)
    expect(gradients.has('backbone/stem/conv/kernel')).toBe(true)
    expect(gradients.has('backbone/stem/bn/moving_mean')).toBe(false)
    const a = local.getWeights()
    const b = remote.getWeights()
    for (const [name, weight] of a)
      b.get(name)!.values.forEach((v, i) => expect(Math.abs(v - weight.values[i])).toBeLessThan(1e-6))
    local.dispose()
    remote.dispose()
  })

  it('does not leak tensors from step to step', () => {
    const detector = createDetector(TEST_DETECTOR)
    const optimizer = tf.train.adam(1e-3)
    detector.trainStep(optimizer, batch.images, batch.targets)
    const after1 = tf.memory().numTensors
    detector.trainStep(optimizer, batch.images, batch.targets)
    tf.tidy(() => {
      detector.loss(batch.images, batch.targets)
    })
    expect(tf.memory().numTensors).toBe(after1)
    detector.dispose()
  })
})
