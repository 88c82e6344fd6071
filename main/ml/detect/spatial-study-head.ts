// The spatial study head: where and how many. Study classes differ by the position and number of
// opacities (typical: bilateral, peripheral; indeterminate/atypical: central, perihilar, one-sided),
// which a Dense on globally averaged features cannot see. This head reads the stride-16 neck level
// with three coordinate channels - x and y in [-1, 1] and |x|, the distance from the midline (so
// "peripheral" looks the same on both sides) - through one 3x3 conv, then pools it by a few
// attention maps (softmax over positions: "what is there, where it is"), by max and by mean, and
// adds the globally pooled backbone features the global head uses. Every op is per image: nothing
// mixes images of a batch, so a step split over two threads needs no exchange here.
import * as tf from '@tensorflow/tfjs-core'
import { Conv2d, Dense } from '../model/layers'
import { Module } from '../model/module'
import type { ImageHeadOutput } from './study-head'

/** The neck level the head reads: P4, stride 16 (16 x 16 at 256 px). */
export const SPATIAL_STUDY_LEVEL = 4

export interface SpatialStudyHeadOptions {
  /** Channels of the neck level. */
  levelChannels: number
  /** Channels of the globally pooled backbone features. */
  pooledChannels: number
  studyClasses: number
  /** Channels of the 3x3 conv over the level and the coordinates (default 32). */
  hidden?: number
  /** Attention maps (default 4). */
  heads?: number
}

/** The coordinate channels x, y, |x| of an H x W map, pixel centres in [-1, 1], as [H * W * 3] NHWC. */
export function coordinateChannels(height: number, width: number): Float32Array {
  const out = new Float32Array(height * width * 3)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const cx = (2 * (x + 0.5)) / width - 1
      const at = (y * width + x) * 3
      out[at] = cx
      out[at + 1] = (2 * (y + 0.5)) / height - 1
      out[at + 2] = Math.abs(cx)
    }
  }
  return out
}

export class SpatialStudyHead extends Module {
  readonly conv: Conv2d
  /** The coordinate part of the 3x3 conv (conv over [features, coords] = conv(features) + coords(coords)). */
  readonly coords: Conv2d
  readonly attention: Conv2d
  readonly study: Dense
  readonly none: Dense
  readonly hidden: number
  readonly heads: number

  constructor(options: SpatialStudyHeadOptions) {
    super()
    this.hidden = options.hidden ?? 32
    this.heads = options.heads ?? 4
    this.conv = this.addChild('conv', new Conv2d(options.levelChannels, this.hidden, 3, { bias: true }))
    this.coords = this.addChild('coords', new Conv2d(3, this.hidden, 3))
    // small attention logits at first: every map starts near a uniform average
    this.attention = this.addChild(
      'attention',
      new Conv2d(this.hidden, this.heads, 1, { bias: true, kernelStd: 0.01 })
    )
    const features = this.featureCount(options.pooledChannels)
    this.study = this.addChild('study', new Dense(features, options.studyClasses))
    this.none = this.addChild('none', new Dense(features, 1))
  }

  /** Length of the vector the Dense layers read: attention maps x hidden, max, mean, pooled backbone. */
  featureCount(pooledChannels: number): number {
    return (this.heads + 2) * this.hidden + pooledChannels
  }

  /** The 3x3 conv's response to the coordinate channels: [1, H, W, hidden], broadcast over the batch. */
  coordinateResponse(height: number, width: number): tf.Tensor4D {
    const map = tf.tensor4d(coordinateChannels(height, width), [1, height, width, 3])
    return this.coords.forward(map)
  }

  /** `level` [B, H, W, C] (P4) and `pooled` [B, P] -> study and none logits. */
  forward(level: tf.Tensor4D, pooled: tf.Tensor2D): ImageHeadOutput {
    const [batch, height, width] = level.shape
    const positions = height * width
    const hidden = tf.relu(tf.add(this.conv.forward(level), this.coordinateResponse(height, width)))
    const flat = tf.reshape(hidden, [batch, positions, this.hidden]) as tf.Tensor3D
    // softmax over positions per attention map: [B, heads, H * W]
    const logits = tf.reshape(this.attention.forward(hidden as tf.Tensor4D), [batch, positions, this.heads])
    const weights = tf.softmax(tf.transpose(logits, [0, 2, 1])) as tf.Tensor3D
    const attended = tf.reshape(tf.matMul(weights, flat), [batch, this.heads * this.hidden])
    const features = tf.concat([attended, tf.max(flat, 1), tf.mean(flat, 1), pooled], 1) as tf.Tensor2D
    return { studyLogits: this.study.forward(features), noneLogits: this.none.forward(features) }
  }
}
