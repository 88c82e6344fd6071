import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs-core'
import '@tensorflow/tfjs-backend-cpu'
import { FileReadError, UserError } from '../../../main/core/errors'
import { createDetector } from '../../../main/ml/detect'
import { writeBackboneLayersModel } from '../../../main/ml/model/pretrained'
import { writeLayersModel as writeModelFile, type LayersModelWeight } from './layers-model-file'

let dir: string
const writeLayersModel = (name: string, weights: LayersModelWeight[]) => writeModelFile(dir, name, weights)

const range = (n: number, scale = 1) => Array.from({ length: n }, (_, i) => (i - n / 2) * scale)

beforeAll(async () => {
  await tf.setBackend('cpu')
  dir = await mkdtemp(join(tmpdir(), 'cxr-pretrained-'))
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('importing a TF.js Layers model', () => {
  // widthMultiplier 0.25 gives a B0 stem of 8 channels, so a small fake Keras model fits it
  const config = { widthMultiplier: 0.25, depthMultiplier: 0.25, imageSize: 128 }

  it('loads weights by Keras layer name, sums an RGB stem into greyscale and reports what did not match (partial)', async () => {
    const rgbStem = range(3 * 3 * 3 * 8, 0.01)
    const gammaQuantised = Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7])
    const path = await writeLayersModel('efficientnetb0', [
      { name: 'efficientnetb0/stem_conv/kernel', shape: [3, 3, 3, 8], values: rgbStem },
      {
        name: 'stem_bn/gamma',
        shape: [8],
        values: [],
        quantization: { dtype: 'uint8', scale: 0.5, min: 1 },
        bytes: gammaQuantised
      },
      { name: 'stem_bn/moving_mean', shape: [8], values: range(8) },
      { name: 'predictions/kernel', shape: [8, 10], values: range(80) }
    ])
    const detector = createDetector(config)
    const initialStem = Array.from(detector.getWeights().get('backbone/stem/conv/kernel')!.values)
    // the rest of the backbone is missing from this file: refused unless partial, nothing assigned
    await expect(detector.importPretrained(path)).rejects.toThrow(
      /efficientnetb0\.json: \d+ backbone layer\(s\) have no weights there: backbone\/blocks\.0\/dwconv\/conv \(block1a_dwconv\)/
    )
    expect(Array.from(detector.getWeights().get('backbone/stem/conv/kernel')!.values)).toEqual(initialStem)
    const report = await detector.importPretrained(path, { partial: true })

    expect(report.matched).toEqual([
      { sourceLayer: 'stem_conv', module: 'backbone/stem/conv' },
      { sourceLayer: 'stem_bn', module: 'backbone/stem/bn' }
    ])
    expect(report.unmatchedSourceLayers).toEqual(['predictions'])
    expect(report.greyscaleAdapted).toEqual(['backbone/stem/conv/kernel'])
    expect(report.missingModules).toContain('backbone/blocks.0/dwconv/conv (block1a_dwconv)')

    const weights = detector.getWeights()
    const stem = weights.get('backbone/stem/conv/kernel')!
    expect(stem.shape).toEqual([3, 3, 1, 8])
    // kernel position 0, output 0: the sum of the R, G and B weights
    expect(stem.values[0]).toBeCloseTo(rgbStem[0] + rgbStem[8] + rgbStem[16], 6)
    expect(Array.from(weights.get('backbone/stem/bn/gamma')!.values)).toEqual([
      1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5
    ])
    expect(Array.from(weights.get('backbone/stem/bn/moving_mean')!.values)).toEqual(range(8))
    expect(detector.initialisation).toMatchObject({ kind: 'pretrained', source: path, matchedLayers: 2 })
    detector.dispose()
  })

  it('follows an explicit layer-name mapping, and rejects a mapping to a module that does not exist', async () => {
    const path = await writeLayersModel('custom', [
      { name: 'my_first_conv/kernel', shape: [3, 3, 1, 8], values: range(72) }
    ])
    const detector = createDetector(config)
    const report = await detector.importPretrained(path, {
      mapping: { my_first_conv: 'backbone/stem/conv' },
      partial: true
    })
    expect(report.matched).toEqual([{ sourceLayer: 'my_first_conv', module: 'backbone/stem/conv' }])
    expect(Array.from(detector.getWeights().get('backbone/stem/conv/kernel')!.values)).toEqual(range(72))
    await expect(
      detector.importPretrained(path, { mapping: { my_first_conv: 'backbone/nope' } })
    ).rejects.toThrow(
      new UserError(
        'pretrained mapping: my_first_conv -> backbone/nope: the model has no module backbone/nope'
      )
    )
    detector.dispose()
  })

  it('refuses a weight whose shape does not fit, naming the layer and both shapes, before loading anything', async () => {
    const path = await writeLayersModel('wider', [
      { name: 'stem_bn/gamma', shape: [8], values: range(8) },
      { name: 'stem_conv/kernel', shape: [3, 3, 3, 16], values: range(3 * 3 * 3 * 16) }
    ])
    const detector = createDetector({ ...config, seed: 7 })
    const initial = detector.getWeights().get('backbone/stem/bn/gamma')!.values
    await expect(detector.importPretrained(path, { partial: true })).rejects.toThrow(
      new UserError(
        `${path}: 1 weight(s) do not fit this backbone (another variant, width or input size?): ` +
          'layer stem_conv weight kernel has shape [3, 3, 3, 16] but backbone/stem/conv/kernel needs [3, 3, 1, 8]'
      )
    )
    // nothing was assigned, not even the layer that fitted
    expect(Array.from(detector.getWeights().get('backbone/stem/bn/gamma')!.values)).toEqual(
      Array.from(initial)
    )
    detector.dispose()
  })

  it('names the file when nothing matches the backbone', async () => {
    const path = await writeLayersModel('unrelated', [
      { name: 'dense_1/kernel', shape: [4, 2], values: range(8) }
    ])
    const detector = createDetector(config)
    await expect(detector.importPretrained(path)).rejects.toThrow(
      `${path}: no layer matches this backbone's layer names (its layers: dense_1)`
    )
    detector.dispose()
  })

  it("writes a backbone trained here as a --pretrained file that another run's detector imports whole", async () => {
    for (const backbone of ['efficientnet-b0', 'mobilenetv2', 'resnet18'] as const) {
      const trained = createDetector({ ...config, backbone, seed: 1 })
      const out = join(dir, `here-${backbone}`)
      const written = await writeBackboneLayersModel(trained.net, out, { backbone })
      expect(written.modelJson).toBe(join(out, 'model.json'))
      const fresh = createDetector({ ...config, backbone, seed: 2 })
      const report = await fresh.importPretrained(written.modelJson)
      expect(report.missingModules).toEqual([])
      expect(report.unmatchedSourceLayers).toEqual([])
      expect(report.matched).toHaveLength(written.layers)
      const a = trained.getWeights()
      const b = fresh.getWeights()
      let compared = 0
      for (const [name, weight] of a) {
        if (!name.startsWith('backbone/')) continue
        expect(Array.from(b.get(name)!.values), name).toEqual(Array.from(weight.values))
        compared++
      }
      expect(compared).toBeGreaterThan(20)
      // the heads are not part of the file: still the fresh detector's own
      const head = [...a.keys()].find((n) => !n.startsWith('backbone/') && n.endsWith('kernel'))!
      expect(Array.from(b.get(head)!.values)).not.toEqual(Array.from(a.get(head)!.values))
      trained.dispose()
      fresh.dispose()
    }
  })

  it('names the file when model.json or a shard is missing', async () => {
    const detector = createDetector(config)
    await expect(detector.importPretrained(join(dir, 'absent.json'))).rejects.toThrow(FileReadError)
    const path = await writeLayersModel('broken', [
      { name: 'stem_conv/kernel', shape: [3, 3, 1, 8], values: range(72) }
    ])
    await rm(join(dir, 'broken-shard2of2.bin'))
    await expect(detector.importPretrained(path)).rejects.toThrow(
      `${join(dir, 'broken-shard2of2.bin')}: weights shard listed in model.json cannot be read`
    )
    detector.dispose()
  })
})
