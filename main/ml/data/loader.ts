// Batches for training and validation: a seeded order per epoch, cached model inputs, augmentation
// keyed by (seed, epoch, imageId), and the next batch prepared while the current one trains.
import type { Box } from '../detect/boxes'
import { augmentSample, drawAugmentation, type AugmentConfig } from './augment'
import { seededRng, shuffled } from './random'
import { modelBoxes, studyClassIndex, type ImageSample } from './samples'
import type { TensorCache } from './tensor-cache'

export interface Batch {
  samples: ImageSample[]
  /** [B, size, size, 1] row-major, values in [0, 1]. */
  images: Float32Array
  size: number
  /** Boxes per image in model-input pixels, after augmentation. */
  boxes: Box[][]
  /** Study class index per image (STUDY_CLASSES order), -1 when unknown. */
  studyClasses: number[]
  /**
   * False for an image of a positive study that has no boxes (about 6.6% of the real set): nobody
   * drew its opacities, so "no box here" is not a fact the detector should learn.
   */
  detectionValid: boolean[]
}

export interface LoaderOptions {
  batchSize: number
  seed: number
  /** Augmentation, or null for validation / prediction. */
  augment: AugmentConfig | null
  /** Shuffle every epoch (training); validation keeps the given order. */
  shuffle: boolean
}

export class BatchLoader {
  constructor(
    readonly samples: readonly ImageSample[],
    private readonly cache: TensorCache,
    readonly options: LoaderOptions
  ) {}

  get imageSize(): number {
    return this.cache.imageSize
  }

  /**
   * Batches per epoch. A shuffled epoch drops a last batch of one image: batch-norm statistics of a
   * single image are meaningless, and the shuffle drops a different image each epoch.
   */
  get stepsPerEpoch(): number {
    const { batchSize, shuffle } = this.options
    const full = Math.floor(this.samples.length / batchSize)
    const rest = this.samples.length % batchSize
    return full + (rest > (shuffle ? 1 : 0) ? 1 : 0)
  }

  /** The image order of a 0-based epoch. */
  orderOf(epoch: number): ImageSample[] {
    return this.options.shuffle
      ? shuffled(this.samples, seededRng(this.options.seed, 'order', epoch))
      : [...this.samples]
  }

  /** The batches of `epoch` from step `fromStep` on, one prepared ahead. */
  async *batches(epoch: number, fromStep = 0): AsyncGenerator<Batch> {
    const order = this.orderOf(epoch)
    const steps = this.stepsPerEpoch
    const build = (step: number) => {
      const promise = this.build(
        order.slice(step * this.options.batchSize, (step + 1) * this.options.batchSize),
        epoch
      )
      promise.catch(() => undefined) // surfaced when awaited
      return promise
    }
    let pending = fromStep < steps ? build(fromStep) : null
    for (let step = fromStep; step < steps; step++) {
      const batch = await pending!
      pending = step + 1 < steps ? build(step + 1) : null
      yield batch
    }
  }

  /** Loads, augments and packs the given samples into a batch. */
  async build(samples: ImageSample[], epoch: number): Promise<Batch> {
    const size = this.cache.imageSize
    const pixels = await Promise.all(samples.map((s) => this.cache.load(s)))
    const images = new Float32Array(samples.length * size * size)
    const boxes: Box[][] = []
    samples.forEach((sample, i) => {
      let input = pixels[i]
      let sampleBoxes = modelBoxes(sample, size)
      if (this.options.augment) {
        const augmentation = drawAugmentation(
          seededRng(this.options.seed, 'augment', epoch, sample.imageId),
          this.options.augment,
          size
        )
        const augmented = augmentSample(input, sampleBoxes, augmentation)
        input = augmented.pixels
        sampleBoxes = augmented.boxes
      }
      const offset = i * size * size
      for (let p = 0; p < input.length; p++) images[offset + p] = input[p] / 255
      boxes.push(sampleBoxes)
    })
    return {
      samples,
      images,
      size,
      boxes,
      studyClasses: samples.map((s) => studyClassIndex(s.studyClass)),
      detectionValid: samples.map(
        (s) => s.boxes.length > 0 || s.studyClass === null || s.studyClass === 'negative'
      )
    }
  }
}
