// The conv tower shared across pyramid levels by the heads: separable convs whose weights are
// shared by every level, each level with its own batch norm (level statistics differ).
import * as tf from '@tensorflow/tfjs-core'
import { BatchNorm, SeparableConv2d } from '../model/layers'
import { Module, type ForwardOptions } from '../model/module'

export class TowerLayer extends Module {
  readonly conv: SeparableConv2d
  readonly norms: BatchNorm[] = []

  constructor(channels: number, minLevel: number, maxLevel: number) {
    super()
    this.conv = this.addChild('conv', new SeparableConv2d(channels, channels))
    for (let level = minLevel; level <= maxLevel; level++)
      this.norms.push(this.addChild(`bn.P${level}`, new BatchNorm(channels)))
  }

  forward(x: tf.Tensor4D, levelIndex: number, options: ForwardOptions): tf.Tensor4D {
    const norm = this.norms[levelIndex]
    if (norm.usesBatchStats(options)) return norm.forwardActivated(this.conv.forward(x), options, 'swish')
    const { scale, shift } = norm.folded()
    return this.conv.forwardAffine(x, scale, shift, 'swish')
  }
}

export class SharedTower extends Module {
  readonly layers: TowerLayer[] = []

  constructor(channels: number, repeats: number, minLevel: number, maxLevel: number) {
    super()
    for (let r = 0; r < repeats; r++)
      this.layers.push(this.addChild(`layers.${r}`, new TowerLayer(channels, minLevel, maxLevel)))
  }

  forward(levels: tf.Tensor4D[], options: ForwardOptions): tf.Tensor4D[] {
    return levels.map((x, levelIndex) =>
      this.layers.reduce((y, layer) => layer.forward(y, levelIndex, options), x)
    )
  }
}

/** [B, H, W, k * per] per level -> [B, sum(H * W * k), per], in level, row, column, slot order. */
export function flattenLevels(outputs: tf.Tensor4D[], per: number): tf.Tensor3D {
  const flat = outputs.map((y) => tf.reshape(y, [y.shape[0], -1, per]))
  return (flat.length === 1 ? flat[0] : tf.concat(flat, 1)) as tf.Tensor3D
}
