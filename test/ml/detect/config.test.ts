import { describe, expect, it } from 'vitest'
import { UserError } from '../../../main/core/errors'
import { resolveDetectorConfig } from '../../../main/ml/detect/config'

function messageOf(run: () => unknown): string {
  try {
    run()
  } catch (err) {
    expect(err).toBeInstanceOf(UserError)
    return (err as Error).message
  }
  throw new Error('expected a UserError')
}

describe('detector config', () => {
  it('defaults to the tiny preset: EfficientDet on a half-width B0 at 256 px, one opacity class', () => {
    const config = resolveDetectorConfig()
    expect(config).toMatchObject({
      preset: 'tiny',
      backbone: 'efficientnet-b0',
      head: 'efficientdet',
      imageSize: 256,
      numClasses: 1,
      classes: ['opacity'],
      widthMultiplier: 0.5,
      boxLoss: 'smooth-l1',
      seed: 0
    })
  })

  it('lets explicit fields override the preset, and picks GIoU for FCOS', () => {
    const config = resolveDetectorConfig({ preset: 'standard', head: 'fcos', imageSize: 384 })
    expect(config).toMatchObject({
      backbone: 'efficientnet-b0',
      widthMultiplier: 1,
      neckRepeats: 3,
      head: 'fcos',
      boxLoss: 'giou',
      imageSize: 384
    })
  })

  it('says which multiple the image size must be, with nearby sizes that work', () => {
    expect(messageOf(() => resolveDetectorConfig({ imageSize: 300 }))).toBe(
      'efficientdet needs --image-size to be a multiple of 128; got 300 (try 256 or 384, or lower --max-level)'
    )
    expect(messageOf(() => resolveDetectorConfig({ head: 'fcos', imageSize: 300, maxLevel: 5 }))).toMatch(
      /^fcos needs --image-size to be a multiple of 32; got 300/
    )
    expect(resolveDetectorConfig({ imageSize: 320, maxLevel: 6 }).imageSize).toBe(320)
  })

  it('names unknown backbones, heads and options', () => {
    expect(messageOf(() => resolveDetectorConfig({ backbone: 'vgg16' as never }))).toBe(
      'invalid detector config: backbone: unknown backbone; choose one of efficientnet-b0, efficientnet-b1, efficientnet-b2, efficientnet-b3, mobilenetv2, resnet18, resnet34'
    )
    expect(messageOf(() => resolveDetectorConfig({ head: 'yolo' as never }))).toMatch(
      /head: unknown head; choose one of efficientdet, fcos/
    )
    expect(messageOf(() => resolveDetectorConfig({ imageSz: 256 } as never))).toMatch(/imageSz/)
    expect(messageOf(() => resolveDetectorConfig({ imageSize: 256.5 }))).toMatch(
      /^invalid detector config: imageSize: /
    )
  })

  it('rejects contradictory settings', () => {
    expect(messageOf(() => resolveDetectorConfig({ head: 'fcos', boxLoss: 'smooth-l1' }))).toMatch(
      /fcos regresses box sides with a GIoU loss/
    )
    expect(messageOf(() => resolveDetectorConfig({ numClasses: 2, classes: ['opacity'] }))).toBe(
      'invalid detector config: numClasses is 2 but 1 class names were given'
    )
  })
})
