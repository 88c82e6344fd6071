// Hand-made training batches for the step tests.
import type { Batch } from '../../../main/ml/data/loader'

export const SIZE = 128

/** Four copies of one image: every micro-batch then sees the batch's own statistics and positives. */
export function identicalBatch(): Batch {
  const one = Float32Array.from({ length: SIZE * SIZE }, (_, i) => ((i * 7919) % 255) / 255)
  const images = new Float32Array(4 * SIZE * SIZE)
  for (let k = 0; k < 4; k++) images.set(one, k * SIZE * SIZE)
  return {
    samples: Array.from({ length: 4 }, (_, k) => ({
      imageId: `i${k}`,
      studyId: 's',
      relPath: '',
      absPath: '',
      width: SIZE,
      height: SIZE,
      fileSize: 0,
      mtimeMs: 0,
      boxes: [],
      studyClass: 'typical' as const
    })),
    images,
    size: SIZE,
    boxes: Array.from({ length: 4 }, () => [[20, 30, 60, 90]] as Array<[number, number, number, number]>),
    studyClasses: [1, 1, 1, 1],
    detectionValid: [true, true, true, true]
  }
}
