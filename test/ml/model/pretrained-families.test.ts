// Importing a converted Keras Applications backbone into each backbone family CXR Studio offers:
// the names and shapes of keras-applications.ts (written from Keras' source) must load every weight
// of our backbone, a greyscale stem must compute what the RGB model computes on a grey image, batch
// norm statistics must arrive, and a model named otherwise imports through a mapping file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs-core'
import '@tensorflow/tfjs-backend-cpu'
import { FileReadError, UserError } from '../../../main/core/errors'
import { mulberry32 } from '../../../main/core/export/split'
import { createDetector } from '../../../main/ml/detect'
import type { Backbone, BackboneName } from '../../../main/ml/model/backbone'
import { createBackbone } from '../../../main/ml/model/create-backbone'
import type { EfficientNet } from '../../../main/ml/model/efficientnet'
import { importLayersModel } from '../../../main/ml/model/pretrained'
import type { ResNet } from '../../../main/ml/model/resnet'
import {
  kerasEfficientNet,
  kerasMobileNetV2,
  kerasStyleResNet,
  valueCount,
  type KerasWeight
} from './keras-applications'
import { writeLayersModel, type LayersModelWeight } from './layers-model-file'

let dir: string

beforeAll(async () => {
  await tf.setBackend('cpu')
  dir = await mkdtemp(join(tmpdir(), 'cxr-pretrained-families-'))
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** Plausible trained values: small kernels, positive variances, gammas near 1. */
function withValues(weights: KerasWeight[], seed: number): LayersModelWeight[] {
  const random = mulberry32(seed)
  const uniform = (low: number, high: number) => low + (high - low) * random()
  return weights.map((w) => {
    const size = w.shape.reduce((a, b) => a * b, 1)
    if (w.dtype === 'int32') return { ...w, values: [], bytes: new Uint8Array(new Int32Array(size).buffer) }
    const kind = w.name.split('/').pop()!
    const fanIn = w.shape.length === 4 ? w.shape[0] * w.shape[1] * w.shape[2] : 1
    const draw = (): number => {
      switch (kind) {
        case 'gamma':
          return uniform(0.5, 1.5)
        case 'moving_variance':
        case 'variance':
          return uniform(0.5, 1.5)
        case 'kernel':
        case 'depthwise_kernel':
          return uniform(-1, 1) * Math.sqrt(3 / fanIn)
        default:
          return uniform(-0.1, 0.1)
      }
    }
    return { ...w, values: Float32Array.from({ length: size }, draw) }
  })
}

const options = (inputChannels: number, widthMultiplier: number, depthMultiplier = 1) => ({
  inputChannels,
  widthMultiplier,
  depthMultiplier,
  dropConnectRate: 0
})

/** `<sourceName>/<weight>` -> shape for every variable of `backbone` (what a Keras model must provide). */
function expectedKerasWeights(backbone: Backbone): Map<string, number[]> {
  const out = new Map<string, number[]>()
  for (const [path, module] of backbone.modules()) {
    for (const { name, variable } of module.ownVariables()) {
      expect(module.sourceName, `${path}/${name} has no Keras layer name`).toBeTruthy()
      out.set(`${module.sourceName}/${name}`, [...variable.shape])
    }
  }
  return out
}

/** Every backbone weight equals the source's (the stem: summed over RGB when greyscale). */
function expectEveryWeightLoaded(backbone: Backbone, source: LayersModelWeight[]): void {
  const byName = new Map(source.map((w) => [w.name, w]))
  let checked = 0
  for (const [path, module] of backbone.modules()) {
    for (const { name, variable } of module.ownVariables()) {
      const weight = byName.get(`${module.sourceName}/${name}`)
      expect(weight, `${path}/${name}: no source weight`).toBeDefined()
      let expected = Float32Array.from(weight!.values)
      if (weight!.shape[2] === 3 && variable.shape[2] === 1) {
        const summed = tf.sum(
          tf.tensor4d(expected, weight!.shape as [number, number, number, number]),
          2,
          true
        )
        expected = Float32Array.from(summed.dataSync())
        summed.dispose()
      } else if (
        name === 'moving_mean' &&
        byName.has(`${module.sourceName!.replace(/_bn$/, '_conv')}/bias`)
      ) {
        // Keras ResNet: the conv's bias is folded into this mean
        const bias = byName.get(`${module.sourceName!.replace(/_bn$/, '_conv')}/bias`)!.values
        expected = expected.map((v, i) => v - bias[i])
      }
      const actual = variable.dataSync() as Float32Array
      expect(actual.length, `${path}/${name}`).toBe(expected.length)
      let worst = 0
      for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]))
      expect(worst, `${path}/${name}`).toBeLessThan(1e-6)
      checked++
    }
  }
  expect(checked).toBe(backbone.namedVariables().length)
}

/** The greyscale backbone on image g equals the RGB backbone on (g, g, g): features and pooled output. */
async function expectGreyEqualsRgb(name: BackboneName, path: string, width: number, depth: number) {
  const grey = createBackbone(name, options(1, width, depth))
  const rgb = createBackbone(name, options(3, width, depth))
  await importLayersModel(grey, path)
  await importLayersModel(rgb, path)
  const image = tf.randomUniform([2, 64, 64, 1], 0, 1, 'float32', 5) as tf.Tensor4D
  const a = grey.forward(image, { training: false })
  const b = rgb.forward(tf.tile(image, [1, 1, 1, 3]), { training: false })
  const compare = (x: tf.Tensor, y: tf.Tensor) => {
    const scale = tf.max(tf.abs(y)).dataSync()[0]
    const diff = tf.max(tf.abs(tf.sub(x, y))).dataSync()[0]
    expect(scale).toBeGreaterThan(1e-3) // a real signal, not two zero maps
    expect(diff / scale).toBeLessThan(1e-4)
  }
  compare(a.pooled, b.pooled)
  for (const [stride, map] of b.features) compare(a.features.get(stride)!, map)
  grey.dispose()
  rgb.dispose()
}

describe('EfficientNet (keras.applications.EfficientNetB0-B3)', () => {
  it("names and shapes: full-size B0 is Keras' 4,049,571-value notop model, and every B0 weight is in it", () => {
    const keras = kerasEfficientNet(1.0, 1.0)
    // Keras' model.summary() of EfficientNetB0(include_top=False): Total params: 4,049,571
    expect(valueCount(keras)).toBe(4_049_571)
    const backbone = createBackbone('efficientnet-b0', options(3, 1, 1))
    const ours = expectedKerasWeights(backbone)
    const theirs = new Map(keras.map((w) => [w.name, w.shape]))
    for (const [name, shape] of ours) expect(theirs.get(name), name).toEqual(shape)
    // what Keras has beyond the backbone: only its input Normalization layer
    expect(keras.filter((w) => !ours.has(w.name)).map((w) => w.name)).toEqual([
      'normalization/mean',
      'normalization/variance',
      'normalization/count'
    ])
    backbone.dispose()
  })

  it('B3 (width 1.2, depth 1.4) matches Keras EfficientNetB3 by name and shape', () => {
    const keras = new Map(kerasEfficientNet(1.2, 1.4).map((w) => [w.name, w.shape]))
    const backbone = createBackbone('efficientnet-b3', options(1, 1, 1))
    const ours = expectedKerasWeights(backbone)
    expect(ours.size).toBe(keras.size - 3)
    for (const [name, shape] of ours) {
      if (name === 'stem_conv/kernel') expect(keras.get(name)).toEqual([3, 3, 3, shape[3]])
      else expect(keras.get(name), name).toEqual(shape)
    }
    backbone.dispose()
  })

  it('imports every weight and the batch-norm statistics into a greyscale backbone, which then computes what the RGB model does on a grey image', async () => {
    // a tiny Keras EfficientNet(width_coefficient=0.25, depth_coefficient=0.5)
    const source = withValues(kerasEfficientNet(0.25, 0.5), 1)
    const path = await writeLayersModel(dir, 'efficientnet', source)
    const backbone = createBackbone('efficientnet-b0', options(1, 0.25, 0.5)) as EfficientNet
    const report = await importLayersModel(backbone, path)
    expect(report.missingModules).toEqual([])
    expect(report.unmatchedSourceLayers).toEqual(['normalization'])
    expect(report.greyscaleAdapted).toEqual(['stem/conv/kernel'])
    expectEveryWeightLoaded(backbone, source)
    const variance = source.find((w) => w.name === 'block2a_project_bn/moving_variance')!
    expect(Array.from(backbone.blocks[1].project.bn.movingVariance.dataSync())).toEqual(
      Array.from(variance.values)
    )
    backbone.dispose()
    await expectGreyEqualsRgb('efficientnet-b0', path, 0.25, 0.5)
  })

  it('refuses a model of another depth, naming the blocks it lacks', async () => {
    const path = await writeLayersModel(dir, 'shallow', withValues(kerasEfficientNet(0.25, 0.25), 2))
    const deeper = createBackbone('efficientnet-b0', options(1, 0.25, 0.5))
    // depth 0.25 gives stages 4, 5 and 6 one block; 0.5 gives them two: block4b, 5b and 6b, 8 layers each
    await expect(importLayersModel(deeper, path)).rejects.toThrow(
      `${path}: 24 backbone layer(s) have no weights there: blocks.4/expand/conv (block4b_expand_conv), blocks.4/expand/bn (block4b_expand_bn),`
    )
    deeper.dispose()
  })
})

describe('MobileNetV2 (keras.applications.MobileNetV2)', () => {
  it("names and shapes: alpha 1.0 is Keras' 2,257,984-value notop model, and every weight is in it", () => {
    const keras = kerasMobileNetV2(1.0)
    // Keras' model.summary() of MobileNetV2(include_top=False): Total params: 2,257,984
    expect(valueCount(keras)).toBe(2_257_984)
    const backbone = createBackbone('mobilenetv2', options(3, 1))
    const ours = expectedKerasWeights(backbone)
    expect(ours.size).toBe(keras.length)
    for (const w of keras) expect(ours.get(w.name), w.name).toEqual(w.shape)
    backbone.dispose()
  })

  it('imports alpha 0.35 (a Keras ImageNet variant) whole, and the greyscale stem computes what the RGB one does', async () => {
    const source = withValues(kerasMobileNetV2(0.35), 3)
    const path = await writeLayersModel(dir, 'mobilenetv2', source)
    const backbone = createBackbone('mobilenetv2', options(1, 0.35))
    const report = await importLayersModel(backbone, path)
    expect(report.missingModules).toEqual([])
    expect(report.unmatchedSourceLayers).toEqual([])
    expect(report.greyscaleAdapted).toEqual(['stem/conv/kernel'])
    expect(report.matched).toContainEqual({
      sourceLayer: 'block_16_project_BN',
      module: 'blocks.16/project/bn'
    })
    expectEveryWeightLoaded(backbone, source)
    backbone.dispose()
    await expectGreyEqualsRgb('mobilenetv2', path, 0.35, 1)
  })
})

describe('ResNet-18/34 (no Keras Applications model: resnet.py-style names, or a mapping file)', () => {
  it('imports a ResNet-18 named as Keras names its ResNets, folding each conv bias into the next batch norm exactly', async () => {
    const source = withValues(kerasStyleResNet(18, 0.25), 4)
    const path = await writeLayersModel(dir, 'resnet18', source)
    const backbone = createBackbone('resnet18', options(3, 0.25)) as ResNet
    const report = await importLayersModel(backbone, path)
    expect(report.missingModules).toEqual([])
    expect(report.unmatchedSourceLayers).toEqual([])
    expect(report.ignoredWeights).toEqual([])
    expect(report.foldedBiases).toHaveLength(source.filter((w) => w.name.endsWith('_conv/bias')).length)
    expectEveryWeightLoaded(backbone, source)

    // the stem against Keras' own arithmetic: relu(BN(conv(x) + bias)) with the source's statistics
    const get = (name: string) => Float32Array.from(source.find((w) => w.name === name)!.values)
    const x = tf.randomUniform([1, 32, 32, 3], 0, 1, 'float32', 9) as tf.Tensor4D
    const channels = backbone.stem.bn.channels
    const conv = tf.add(
      tf.conv2d(x, tf.tensor4d(get('conv1_conv/kernel'), [7, 7, 3, channels]), 2, 'same'),
      tf.tensor1d(get('conv1_conv/bias'))
    )
    const keras = tf.relu(
      tf.batchNorm(
        conv,
        tf.tensor1d(get('conv1_bn/moving_mean')),
        tf.tensor1d(get('conv1_bn/moving_variance')),
        tf.tensor1d(get('conv1_bn/beta')),
        tf.tensor1d(get('conv1_bn/gamma')),
        backbone.stem.bn.epsilon
      )
    )
    const ours = backbone.stem.forward(x, { training: false })
    expect(tf.max(tf.abs(tf.sub(ours, keras))).dataSync()[0]).toBeLessThan(1e-4)
    expect(tf.max(keras).dataSync()[0]).toBeGreaterThan(0.1)
    backbone.dispose()
    await expectGreyEqualsRgb('resnet18', path, 0.25, 1)
  })

  it('imports a ResNet-18 with other layer names through a mapping file given as --pretrained', async () => {
    // Caffe-style names (conv1, bn_conv1, res2a_branch2a, bn2a_branch2a, res3a_branch1, ...) as some
    // Keras ResNet-18 ports use, renamed from the resnet.py-style model above
    const rename = (layer: string): string => {
      if (layer === 'conv1_conv') return 'conv1'
      if (layer === 'conv1_bn') return 'bn_conv1'
      const [, stage, block, part, kind] = layer.match(/^conv(\d)_block(\d)_(\d)_(conv|bn)$/)!
      const branch = part === '0' ? 'branch1' : `branch2${'ab'[Number(part) - 1]}`
      return `${kind === 'conv' ? 'res' : 'bn'}${stage}${'abcdef'[Number(block) - 1]}_${branch}`
    }
    const resnetStyle = withValues(kerasStyleResNet(18, 0.25), 5)
    const source = resnetStyle.map((w) => {
      const [layer, weight] = w.name.split('/')
      return { ...w, name: `${rename(layer)}/${weight}` }
    })
    await writeLayersModel(dir, 'caffe-resnet18', source)
    // the mapping: source layer -> module path in the detector (backbone/...)
    const detector = createDetector({ backbone: 'resnet18', widthMultiplier: 0.25, imageSize: 128 })
    const layers: Record<string, string> = {}
    for (const [path, module] of detector.net.modules())
      if (module.sourceName) layers[rename(module.sourceName)] = path
    expect(layers.res3a_branch1).toBe('backbone/layer2/blocks.0/shortcut/conv')
    expect(layers.bn5b_branch2b).toBe('backbone/layer4/blocks.1/conv2/bn')
    const mappingPath = join(dir, 'caffe-resnet18-mapping.json')
    await writeFile(mappingPath, JSON.stringify({ model: 'caffe-resnet18.json', layers }))

    const report = await detector.importPretrained(mappingPath)
    expect(report.mappingFile).toBe(mappingPath)
    expect(report.source).toBe(join(dir, 'caffe-resnet18.json'))
    expect(report.missingModules).toEqual([])
    expect(report.matched).toHaveLength(Object.keys(layers).length)
    const weights = detector.getWeights()
    const gamma = source.find((w) => w.name === 'bn4b_branch2a/gamma')!.values
    expect(Array.from(weights.get('backbone/layer3/blocks.1/conv1/bn/gamma')!.values)).toEqual(
      Array.from(gamma)
    )
    expect(detector.initialisation).toMatchObject({
      kind: 'pretrained',
      source: mappingPath,
      missingModules: 0
    })

    // without the mapping nothing matches; a mapping to a module that does not exist names the file
    await expect(detector.importPretrained(join(dir, 'caffe-resnet18.json'))).rejects.toThrow(
      /no layer matches this backbone's layer names \(its layers: conv1, bn_conv1, res2a_branch2a/
    )
    const wrong = join(dir, 'wrong-mapping.json')
    await writeFile(
      wrong,
      JSON.stringify({ model: 'caffe-resnet18.json', layers: { conv1: 'backbone/stem/conv2' } })
    )
    await expect(detector.importPretrained(wrong)).rejects.toThrow(
      new UserError(`${wrong}: conv1 -> backbone/stem/conv2: the model has no module backbone/stem/conv2`)
    )
    const noModel = join(dir, 'no-model-mapping.json')
    await writeFile(noModel, JSON.stringify({ model: 'absent.json', layers }))
    await expect(detector.importPretrained(noModel)).rejects.toThrow(
      new FileReadError(join(dir, 'absent.json'), 'file not found')
    )
    const malformed = join(dir, 'malformed-mapping.json')
    await writeFile(malformed, JSON.stringify({ layers: { conv1: 7 } }))
    await expect(detector.importPretrained(malformed)).rejects.toThrow(/a layer-mapping file needs "model"/)
    detector.dispose()
  })
})
