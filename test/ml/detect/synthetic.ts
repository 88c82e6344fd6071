// Synthetic "radiographs" for detector tests: a noisy dark background with bright, textured
// rectangles standing in for opacities, with exact boxes and image-level labels.
import * as tf from '@tensorflow/tfjs-core'
import { mulberry32 } from '../../../main/core/export/split'
import type { DetectionTargets } from '../../../main/ml/detect'

export interface SyntheticBatch {
  images: tf.Tensor4D
  targets: DetectionTargets
  boxes: number[][][]
}


/**
 * `count` images of `size` px. Image i has (i % 3) boxes (so a third are "none"), each 30-50% of
 * the side, placed without overlap; the study class follows the box count.
 */
export function syntheticBatch(count: number, size: number, seed = 1): SyntheticBatch {
  const random = mulberry32(seed)
  const pixels = new Float32Array(count * size * size)
  const boxes: number[][][] = []
  for (let i = 0; i < count; i++) {
    const image = pixels.subarray(i * size * size, (i + 1) * size * size)
    for (let p = 0; p < image.length; p++) image[p] = 0.15 + 0.1 * random()
    const imageBoxes: number[][] = []
    for (let attempt = 0; imageBoxes.length < i % 3 && attempt < 50; attempt++) {
      const w = Math.round(size * (0.3 + 0.2 * random()))
      const h = Math.round(size * (0.3 + 0.2 * random()))
      const x1 = Math.floor(random() * (size - w))
      const y1 = Math.floor(random() * (size - h))
      const box = [x1, y1, x1 + w, y1 + h]
      if (imageBoxes.some((b) => b[0] < box[2] && box[0] < b[2] && b[1] < box[3] && box[1] < b[3])) continue
      imageBoxes.push(box)
      for (let y = y1; y < y1 + h; y++)
        for (let x = x1; x < x1 + w; x++) image[y * size + x] = 0.6 + 0.3 * random()
    }
    boxes.push(imageBoxes)
  }
  return {
    images: tf.tensor4d(pixels, [count, size, size, 1]),
    boxes,
    targets: {
      boxes,
      studyClass: boxes.map((b) => (b.length === 0 ? 0 : b.length === 1 ? 1 : 3)),
      hasOpacity: boxes.map((b) => b.length > 0)
    }
  }
}
