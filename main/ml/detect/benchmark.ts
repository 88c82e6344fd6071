// Throughput of one detector configuration on the active tfjs backend: parameters, inference and
// training-step times on synthetic images. Used by benchmark scripts; reports, never asserts.
import * as tf from '@tensorflow/tfjs-core'
import { createDetector } from './detector'
import type { DetectorConfigInput } from './config'

export interface DetectorBenchmark {
  backend: string
  backbone: string
  head: string
  imageSize: number
  batch: number
  parameters: number
  /** Median forward pass in inference mode (fused batch norm), batch of `batch` images, ms. */
  inferMs: number
  /** Median training step (forward, backward, Adam update), ms. */
  trainStepMs: number
  inferImagesPerSecond: number
  trainImagesPerSecond: number
}

export interface BenchmarkOptions {
  batch?: number
  /** Timed repetitions after one warm-up (default 2). */
  repeats?: number
  /** Skip the training step (e.g. where gradients are too slow to time). */
  inferenceOnly?: boolean
}

export async function benchmarkDetector(
  config: DetectorConfigInput,
  options: BenchmarkOptions = {}
): Promise<DetectorBenchmark> {
  const batch = options.batch ?? 8
  const repeats = options.repeats ?? 2
  const detector = createDetector(config)
  const size = detector.config.imageSize
  const images = tf.randomUniform([batch, size, size, 1], 0, 1, 'float32', 7) as tf.Tensor4D
  const box = [size * 0.2, size * 0.3, size * 0.6, size * 0.8]
  const targets = {
    boxes: Array.from({ length: batch }, (_, i) => (i % 3 === 0 ? [] : [box])),
    studyClass: Array.from({ length: batch }, (_, i) => i % 4),
    hasOpacity: Array.from({ length: batch }, (_, i) => i % 3 !== 0)
  }
  try {
    const inferMs = await median(repeats, async () => {
      await detector.predict(images)
    })
    let trainStepMs = NaN
    if (!options.inferenceOnly) {
      const optimizer = tf.train.adam(1e-4)
      trainStepMs = await median(repeats, async () => {
        detector.trainStep(optimizer, images, targets)
      })
      optimizer.dispose()
    }
    return {
      backend: tf.getBackend(),
      backbone: detector.config.backbone,
      head: detector.config.head,
      imageSize: size,
      batch,
      parameters: detector.parameterCount().total,
      inferMs,
      trainStepMs,
      inferImagesPerSecond: (1000 * batch) / inferMs,
      trainImagesPerSecond: (1000 * batch) / trainStepMs
    }
  } finally {
    images.dispose()
    detector.dispose()
  }
}

/** One untimed warm-up (kernel setup, allocations), then the median of `repeats` runs. */
async function median(repeats: number, run: () => Promise<void>): Promise<number> {
  await run()
  const times: number[] = []
  for (let i = 0; i < repeats; i++) {
    const start = performance.now()
    await run()
    times.push(performance.now() - start)
  }
  times.sort((a, b) => a - b)
  return times[Math.floor(times.length / 2)]
}
