import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs-core'
import '@tensorflow/tfjs-backend-cpu'
import { FileReadError, UserError } from '../../../main/core/errors'
import { createDetector } from '../../../main/ml/detect'

let dir: string

/** Writes a TF.js Layers model.json whose float32 weights are split over two shard files. */
async function writeLayersModel(
  name: string,
  weights: Array<{
    name: string
    shape: number[]
    values: number[]
    dtype?: string
    quantization?: object
    bytes?: Uint8Array
  }>
): Promise<string> {
  const parts = weights.map((w) => w.bytes ?? new Uint8Array(Float32Array.from(w.values).buffer))
  const all = Buffer.concat(parts)
  const half = Math.floor(all.length / 2)
  await writeFile(join(dir, `${name}-shard1of2.bin`), all.subarray(0, half))
  await writeFile(join(dir, `${name}-shard2of2.bin`), all.subarray(half))
  const manifest = {
    format: 'layers-model',
    modelTopology: {},
    weightsManifest: [
      {
        paths: [`${name}-shard1of2.bin`, `${name}-shard2of2.bin`],
        weights: weights.map((w) => ({
          name: w.name,
          shape: w.shape,
          dtype: w.dtype ?? 'float32',
          ...(w.quantization ? { quantization: w.quantization } : {})
        }))
      }
    ]
  }
  const path = join(dir, `${name}.json`)
  await writeFile(path, JSON.stringify(manifest))
  return path
}

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

  it('loads weights by Keras layer name, sums an RGB stem into greyscale and reports what did not match', async () => {
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
      { name: 'block1a_dwconv/depthwise_kernel', shape: [3, 3, 16, 1], values: range(144) },
      { name: 'predictions/kernel', shape: [8, 10], values: range(80) }
    ])
    const detector = createDetector(config)
    const report = await detector.importPretrained(path)

    expect(report.matched).toEqual([
      { sourceLayer: 'stem_conv', module: 'backbone/stem/conv' },
      { sourceLayer: 'stem_bn', module: 'backbone/stem/bn' }
    ])
    expect(report.unmatchedSourceLayers).toEqual(['block1a_dwconv', 'predictions'])
    expect(report.shapeMismatches).toEqual([
      {
        weight: 'backbone/blocks.0/dwconv/conv/depthwise_kernel',
        sourceShape: [3, 3, 16, 1],
        modelShape: [3, 3, 8, 1]
      }
    ])
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
    const report = await detector.importPretrained(path, { mapping: { my_first_conv: 'backbone/stem/conv' } })
    expect(report.matched).toEqual([{ sourceLayer: 'my_first_conv', module: 'backbone/stem/conv' }])
    expect(Array.from(detector.getWeights().get('backbone/stem/conv/kernel')!.values)).toEqual(range(72))
    await expect(
      detector.importPretrained(path, { mapping: { my_first_conv: 'backbone/nope' } })
    ).rejects.toThrow(
      new UserError(
        'pretrained mapping my_first_conv -> backbone/nope: the model has no module backbone/nope'
      )
    )
    detector.dispose()
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
