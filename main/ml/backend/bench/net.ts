// The kernel benchmark's network: a ~1.2M-parameter conv net on 256×256×1 radiographs, shaped like
// a small detector backbone (3×3 conv–BN–ReLU, five stride-2 stages) with a study-class head and a
// dense box/objectness head. scripts/bench-kernels/torch_net.py builds the same net in PyTorch.
import * as tf from '@tensorflow/tfjs-core'

/** [inChannels, outChannels, stride] of each 3×3 conv–BN–ReLU layer. */
export const BENCH_LAYERS: ReadonlyArray<readonly [number, number, number]> = [
  [1, 16, 2],
  [16, 32, 2],
  [32, 32, 1],
  [32, 64, 2],
  [64, 64, 1],
  [64, 128, 2],
  [128, 128, 1],
  [128, 256, 2],
  [256, 256, 1]
]
/** Index of the layer whose output (stride 16) feeds the box head. */
const BOX_FEATURE_LAYER = 6
export const STUDY_CLASSES = 4
/** Objectness + 4 box offsets per stride-16 cell. */
export const BOX_CHANNELS = 5

export interface BenchBatch {
  images: tf.Tensor4D
  /** One-hot study classes [batch, 4]. */
  studyLabels: tf.Tensor2D
  /** Per cell: objectness in {0,1} then 4 box targets [batch, H/16, W/16, 5]. */
  boxTargets: tf.Tensor4D
}

export class BenchNet {
  readonly convs: tf.Variable[] = []
  readonly gammas: tf.Variable[] = []
  readonly betas: tf.Variable[] = []
  readonly movingMeans: tf.Variable[] = []
  readonly movingVars: tf.Variable[] = []
  readonly studyKernel: tf.Variable
  readonly studyBias: tf.Variable
  readonly boxKernel: tf.Variable
  readonly boxBias: tf.Variable

  constructor(seed = 1) {
    BENCH_LAYERS.forEach(([cin, cout], i) => {
      const std = Math.sqrt(2 / (9 * cin))
      this.convs.push(
        tf.variable(tf.randomNormal([3, 3, cin, cout], 0, std, 'float32', seed + i), true, `conv${i}`)
      )
      this.gammas.push(tf.variable(tf.ones([cout]), true, `gamma${i}`))
      this.betas.push(tf.variable(tf.zeros([cout]), true, `beta${i}`))
      this.movingMeans.push(tf.variable(tf.zeros([cout]), false, `mean${i}`))
      this.movingVars.push(tf.variable(tf.ones([cout]), false, `var${i}`))
    })
    const last = BENCH_LAYERS[BENCH_LAYERS.length - 1]![1]
    const boxIn = BENCH_LAYERS[BOX_FEATURE_LAYER]![1]
    this.studyKernel = tf.variable(
      tf.randomNormal([last, STUDY_CLASSES], 0, 0.01, 'float32', seed + 100),
      true,
      'studyKernel'
    )
    this.studyBias = tf.variable(tf.zeros([STUDY_CLASSES]), true, 'studyBias')
    this.boxKernel = tf.variable(
      tf.randomNormal([1, 1, boxIn, BOX_CHANNELS], 0, 0.01, 'float32', seed + 101),
      true,
      'boxKernel'
    )
    this.boxBias = tf.variable(tf.zeros([BOX_CHANNELS]), true, 'boxBias')
  }

  /** Trainable variables in a fixed order (gradients are exchanged in this order). */
  get trainable(): tf.Variable[] {
    return [
      ...this.convs,
      ...this.gammas,
      ...this.betas,
      this.studyKernel,
      this.studyBias,
      this.boxKernel,
      this.boxBias
    ]
  }

  get parameterCount(): number {
    return this.trainable.reduce((sum, v) => sum + v.size, 0)
  }

  /** Study logits [B,4] and box map [B,H/16,W/16,5]; `training` uses batch statistics. */
  forward(images: tf.Tensor4D, training: boolean): { studyLogits: tf.Tensor2D; boxMap: tf.Tensor4D } {
    let x: tf.Tensor4D = images
    let boxFeature: tf.Tensor4D | null = null
    BENCH_LAYERS.forEach(([, , stride], i) => {
      if (training) {
        const y = tf.conv2d(x, this.convs[i] as tf.Tensor4D, stride, 'same')
        const { mean, variance } = tf.moments(y, [0, 1, 2])
        const gamma = this.gammas[i] as tf.Tensor1D
        x = tf.relu(
          tf.batchNorm4d(
            y,
            mean as tf.Tensor1D,
            variance as tf.Tensor1D,
            this.betas[i] as tf.Tensor1D,
            gamma,
            1e-5
          )
        )
        // moving statistics for inference (momentum 0.1, as PyTorch's BatchNorm2d)
        this.movingMeans[i]!.assign(tf.add(tf.mul(this.movingMeans[i]!, 0.9), tf.mul(mean, 0.1)))
        this.movingVars[i]!.assign(tf.add(tf.mul(this.movingVars[i]!, 0.9), tf.mul(variance, 0.1)))
      } else {
        // Inference folds batch norm into the conv (one fused conv + bias + ReLU kernel), as the
        // app's detector does; PyTorch's eval mode keeps them separate.
        const scale = tf.div(this.gammas[i]!, tf.sqrt(tf.add(this.movingVars[i]!, 1e-5)))
        const shift = tf.sub(this.betas[i]!, tf.mul(this.movingMeans[i]!, scale))
        const filter = tf.mul(this.convs[i]!, scale) as tf.Tensor4D
        x = tf.fused.conv2d({ x, filter, strides: stride, pad: 'same', bias: shift, activation: 'relu' })
      }
      if (i === BOX_FEATURE_LAYER) boxFeature = x
    })
    const pooled = tf.mean(x, [1, 2]) as tf.Tensor2D
    const studyLogits = tf.add(
      tf.matMul(pooled, this.studyKernel as tf.Tensor2D),
      this.studyBias
    ) as tf.Tensor2D
    const boxMap = tf.add(
      tf.conv2d(boxFeature!, this.boxKernel as tf.Tensor4D, 1, 'same'),
      this.boxBias
    ) as tf.Tensor4D
    return { studyLogits, boxMap }
  }

  /** Softmax cross-entropy on study classes + BCE objectness + L1 boxes on object cells. */
  loss(batch: BenchBatch): tf.Scalar {
    const { studyLogits, boxMap } = this.forward(batch.images, true)
    const study = tf.mean(tf.neg(tf.sum(tf.mul(batch.studyLabels, tf.logSoftmax(studyLogits)), -1)))
    const [objLogit, boxPred] = tf.split(boxMap, [1, BOX_CHANNELS - 1], -1)
    const [objTarget, boxTarget] = tf.split(batch.boxTargets, [1, BOX_CHANNELS - 1], -1)
    // BCE with logits, in the stable form max(z,0) − z·t + log(1 + e^−|z|)
    const bce = tf.mean(
      tf.add(
        tf.sub(tf.relu(objLogit!), tf.mul(objLogit!, objTarget!)),
        tf.log1p(tf.exp(tf.neg(tf.abs(objLogit!))))
      )
    )
    const l1 = tf.div(
      tf.sum(tf.mul(tf.abs(tf.sub(boxPred!, boxTarget!)), objTarget!)),
      tf.add(tf.sum(objTarget!), 1)
    )
    return tf.add(tf.add(study, bce), l1) as tf.Scalar
  }

  dispose(): void {
    for (const v of [...this.trainable, ...this.movingMeans, ...this.movingVars]) v.dispose()
  }
}

/** A deterministic synthetic batch (throughput does not depend on the pixel values). */
export function syntheticBatch(batchSize: number, size = 256, seed = 7): BenchBatch {
  return tf.tidy(() => {
    const images = tf.randomUniform([batchSize, size, size, 1], 0, 1, 'float32', seed) as tf.Tensor4D
    const classes = tf.randomUniform([batchSize], 0, STUDY_CLASSES, 'int32', seed + 1) as tf.Tensor1D
    const studyLabels = tf.cast(tf.oneHot(classes, STUDY_CLASSES), 'float32') as tf.Tensor2D
    const cells = size / 16
    const objectness = tf.cast(
      tf.greater(tf.randomUniform([batchSize, cells, cells, 1], 0, 1, 'float32', seed + 2), 0.9),
      'float32'
    )
    const boxes = tf.randomUniform([batchSize, cells, cells, BOX_CHANNELS - 1], -1, 1, 'float32', seed + 3)
    const boxTargets = tf.concat([objectness, boxes], -1) as tf.Tensor4D
    return { images, studyLabels, boxTargets }
  })
}
