import { beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs-core'
import '@tensorflow/tfjs-backend-cpu'
import { BACKBONE_NAMES } from '../../../main/ml/model/backbone'
import { createBackbone } from '../../../main/ml/model/create-backbone'

beforeAll(async () => {
  await tf.setBackend('cpu')
})

const FULL = { inputChannels: 1, widthMultiplier: 1, depthMultiplier: 1, dropConnectRate: 0 }

function weightCount(backbone: ReturnType<typeof createBackbone>): number {
  return backbone
    .namedVariables()
    .filter((v) => v.kind === 'weight')
    .reduce((n, v) => n + v.variable.size, 0)
}

describe('backbones', () => {
  it.each(BACKBONE_NAMES)(
    '%s returns stride 4/8/16/32 features with its declared channels, and pooled features',
    (name) => {
      const backbone = createBackbone(name, { ...FULL, widthMultiplier: 0.5, depthMultiplier: 0.5 })
      const out = tf.tidy(() => {
        const { features, pooled } = backbone.forward(tf.zeros([2, 64, 64, 1]) as tf.Tensor4D, {
          training: false
        })
        return {
          shapes: [...features].map(([stride, f]) => [stride, f.shape] as const),
          pooled: pooled.shape
        }
      })
      expect(out.shapes.map(([stride]) => stride)).toEqual([4, 8, 16, 32])
      for (const [stride, shape] of out.shapes) {
        expect(shape).toEqual([2, 64 / stride, 64 / stride, backbone.featureChannels.get(stride)])
      }
      expect(out.pooled).toEqual([2, backbone.pooledChannels])
      backbone.dispose()
    }
  )

  it('builds EfficientNet-B0 and MobileNetV2 with the Keras parameter counts (minus the 2 extra RGB input channels of the stem)', () => {
    // keras.applications EfficientNetB0(include_top=False): 4,007,548 trainable; stem kernel 3x3x3x32 -> 3x3x1x32
    const b0 = createBackbone('efficientnet-b0', FULL)
    expect(weightCount(b0)).toBe(4_007_548 - 3 * 3 * 2 * 32)
    // MobileNetV2(include_top=False, alpha=1): 2,223,872 trainable
    const mobilenet = createBackbone('mobilenetv2', FULL)
    expect(weightCount(mobilenet)).toBe(2_223_872 - 3 * 3 * 2 * 32)
    b0.dispose()
    mobilenet.dispose()
  })

  it('scales EfficientNet B0-B3 up in width and depth (compound scaling)', () => {
    const counts = (
      ['efficientnet-b0', 'efficientnet-b1', 'efficientnet-b2', 'efficientnet-b3'] as const
    ).map((name) => {
      const backbone = createBackbone(name, FULL)
      const blocks = backbone.stages().reduce((n, s) => n + s.modules.length, 0)
      const result = { blocks, weights: weightCount(backbone), top: backbone.pooledChannels }
      backbone.dispose()
      return result
    })
    // B0 has 16 MBConv blocks, B1/B2 23, B3 26 (plus stem and top)
    expect(counts.map((c) => c.blocks - 2)).toEqual([16, 23, 23, 26])
    expect(counts.map((c) => c.top)).toEqual([1280, 1280, 1408, 1536])
    for (let i = 1; i < counts.length; i++) expect(counts[i].weights).toBeGreaterThan(counts[i - 1].weights)
  })

  it('covers every backbone weight exactly once by its stages, ordered from the input', () => {
    for (const name of BACKBONE_NAMES) {
      const backbone = createBackbone(name, { ...FULL, widthMultiplier: 0.25, depthMultiplier: 0.25 })
      const fromStages = backbone
        .stages()
        .flatMap((s) => s.modules.flatMap((m) => m.namedVariables().map((v) => v.variable)))
      expect(new Set(fromStages).size).toBe(fromStages.length)
      expect(fromStages.length).toBe(backbone.namedVariables().length)
      expect(backbone.stages()[0].name).toBe('stem')
      backbone.dispose()
    }
  })

  it('names weights by module path with Keras weight names', () => {
    const backbone = createBackbone('efficientnet-b0', FULL)
    const names = backbone.namedVariables().map((v) => v.name)
    expect(names).toContain('blocks.3/expand/conv/kernel')
    expect(names).toContain('blocks.3/dwconv/conv/depthwise_kernel')
    expect(names).toContain('blocks.3/dwconv/bn/moving_variance')
    expect(names).toContain('blocks.3/se/reduce/bias')
    backbone.dispose()
  })
})
