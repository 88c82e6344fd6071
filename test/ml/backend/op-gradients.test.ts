// Every op a conv detector (backbone, FPN/BiFPN, heads, losses) differentiates through must have
// its gradient on WASM, and the gradient must equal the CPU backend's. A missing kernel would
// otherwise surface only as "Kernel 'X' not registered for backend 'wasm'" mid-training.
import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, test } from 'vitest'
import { bothBackends, cpuAndWasm, randomValues, relativeError, size } from './helpers'

beforeAll(bothBackends)

const TOLERANCE = 1e-4
const x4 = (seed: number, shape: [number, number, number, number] = [2, 6, 6, 4]) =>
  tf.tensor4d(
    randomValues(
      shape.reduce((a, b) => a * b),
      seed
    ),
    shape
  )

/** name → f(x) whose gradient (w.r.t. x) we compare; each returns a scalar. */
const OPS: Record<string, (x: tf.Tensor4D) => tf.Scalar> = {
  'batch norm with batch moments (FusedBatchNorm)': (x) => {
    const { mean, variance } = tf.moments(x, [0, 1, 2])
    return tf.sum(
      tf.square(
        tf.batchNorm4d(
          x,
          mean as tf.Tensor1D,
          variance as tf.Tensor1D,
          tf.ones([4]) as tf.Tensor1D,
          tf.fill([4], 0.5) as tf.Tensor1D,
          1e-3
        )
      )
    )
  },
  relu: (x) => tf.sum(tf.mul(tf.relu(x), x)),
  relu6: (x) => tf.sum(tf.relu6(tf.mul(x, 8))),
  'leaky relu': (x) => tf.sum(tf.square(tf.leakyRelu(x, 0.1))),
  elu: (x) => tf.sum(tf.elu(x)),
  sigmoid: (x) => tf.sum(tf.sigmoid(x)),
  swish: (x) => tf.sum(tf.mul(x, tf.sigmoid(x))),
  mish: (x) => tf.sum(tf.mul(x, tf.tanh(tf.softplus(x)))),
  'avg pool 2×2/2': (x) => tf.sum(tf.square(tf.avgPool(x, 2, 2, 'valid'))),
  'resize bilinear ×2 (FPN upsampling)': (x) => tf.sum(tf.square(tf.image.resizeBilinear(x, [12, 12]))),
  'resize bilinear, align corners': (x) => tf.sum(tf.square(tf.image.resizeBilinear(x, [11, 13], true))),
  'concat + split': (x) => {
    const [a, b] = tf.split(tf.concat([x, tf.mul(x, 2)], 3), [3, 5], 3)
    return tf.add(tf.sum(tf.square(a!)), tf.sum(b!))
  },
  'slice + pad': (x) =>
    tf.sum(
      tf.square(
        tf.pad(tf.slice(x, [0, 1, 1, 0], [2, 4, 4, 4]), [
          [0, 0],
          [1, 1],
          [2, 0],
          [0, 0]
        ])
      )
    ),
  'mirror pad': (x) =>
    tf.sum(
      tf.square(
        tf.mirrorPad(
          x,
          [
            [0, 0],
            [1, 1],
            [1, 1],
            [0, 0]
          ],
          'reflect'
        )
      )
    ),
  'broadcast add/mul/div': (x) =>
    tf.sum(tf.div(tf.mul(tf.add(x, tf.ones([4])), tf.fill([1, 1, 1, 4], 3)), tf.add(tf.abs(x), 1))),
  'mean / max reductions': (x) => tf.add(tf.sum(tf.mean(x, [1, 2])), tf.sum(tf.max(x, [1, 2]))),
  'matMul + fused dense (bias, relu)': (x) => {
    const flat = tf.reshape(x, [2, 144])
    const w = tf.tensor2d(randomValues(144 * 5, 3), [144, 5])
    return tf.sum(tf.square(tf.fused.matMul({ a: flat, b: w, bias: tf.ones([5]), activation: 'relu' })))
  },
  'fused conv2d (bias, relu)': (x) =>
    tf.sum(
      tf.square(
        tf.fused.conv2d({
          x,
          filter: tf.tensor4d(randomValues(3 * 3 * 4 * 3, 4), [3, 3, 4, 3]),
          strides: 2,
          pad: 'same',
          bias: tf.ones([3]),
          activation: 'relu'
        })
      )
    ),
  'fused depthwise conv (bias)': (x) =>
    tf.sum(
      tf.square(
        tf.fused.depthwiseConv2d({
          x,
          filter: tf.tensor4d(randomValues(3 * 3 * 4, 5), [3, 3, 4, 1]),
          strides: 1,
          pad: 'same',
          bias: tf.ones([4])
        })
      )
    ),
  'separable conv': (x) =>
    tf.sum(
      tf.square(
        tf.separableConv2d(
          x,
          tf.tensor4d(randomValues(3 * 3 * 4 * 2, 6), [3, 3, 4, 2]),
          tf.tensor4d(randomValues(8 * 6, 7), [1, 1, 8, 6]),
          1,
          'same'
        )
      )
    ),
  'conv2d transpose (learned upsampling)': (x) =>
    tf.sum(
      tf.square(
        tf.conv2dTranspose(
          x,
          tf.tensor4d(randomValues(3 * 3 * 5 * 4, 8), [3, 3, 5, 4]),
          [2, 12, 12, 5],
          2,
          'same'
        )
      )
    ),
  'softmax / log-softmax cross-entropy': (x) => {
    const logits = tf.reshape(x, [24, 12])
    const labels = tf.oneHot(
      tf.tensor1d(
        Array.from({ length: 24 }, (_, i) => (i * 5) % 12),
        'int32'
      ),
      12
    )
    return tf.add(tf.sum(tf.mul(labels, tf.logSoftmax(logits))), tf.sum(tf.square(tf.softmax(logits))))
  },
  'sigmoid focal-loss pieces (clip, log, pow, where)': (x) => {
    const p = tf.clipByValue(tf.sigmoid(x), 1e-4, 1 - 1e-4)
    // targets are constants in a real loss: the mask must not depend on x
    const positive = tf.greater(tf.tensor4d(randomValues(x.size, 99), x.shape), 0.2)
    const pt = tf.where(positive, p, tf.sub(1, p))
    return tf.sum(tf.mul(tf.pow(tf.sub(1, pt), 2), tf.neg(tf.log(pt))))
  },
  'IoU-style box loss (minimum, maximum, sqrt, exp, log1p)': (x) => {
    const [a, b] = tf.split(tf.reshape(x, [72, 4]), 2, 1)
    const inter = tf.maximum(tf.sub(tf.minimum(a!, tf.exp(b!)), tf.maximum(tf.neg(a!), b!)), 0)
    return tf.sum(tf.add(tf.sqrt(tf.add(tf.square(inter), 1)), tf.log1p(tf.abs(a!))))
  },
  'gather rows of anchors (UnsortedSegmentSum)': (x) => {
    const anchors = tf.reshape(x, [144, 2])
    return tf.sum(tf.square(tf.gather(anchors, tf.tensor1d([3, 3, 10, 143, 0, 5], 'int32'))))
  },
  'tile / transpose / reverse / stack': (x) => {
    const t = tf.transpose(tf.tile(tf.slice(x, [0, 0, 0, 0], [1, 6, 6, 2]), [2, 1, 1, 2]), [0, 2, 1, 3])
    return tf.sum(tf.mul(tf.reverse(tf.stack(tf.unstack(t, 3), 3), 1), x))
  }
}

describe('gradients of detector ops on WASM', () => {
  test.each(Object.keys(OPS))('%s', async (name) => {
    const op = OPS[name]!
    const { cpu, wasm } = await cpuAndWasm(() =>
      tf.grad((x: tf.Tensor) => op(x as tf.Tensor4D))(x4(name.length))
    )
    expect(relativeError(wasm[0]!, cpu[0]!)).toBeLessThan(TOLERANCE)
  })
})

describe('kernels we replace keep their results', () => {
  test('Tile over every rank, dtype and repetition pattern', async () => {
    const cases: Array<[number[], number[], 'float32' | 'int32' | 'bool']> = [
      [[4], [3], 'float32'],
      [[1, 1, 1, 5], [2, 3, 4, 1], 'float32'],
      [[2, 3], [1, 4], 'int32'],
      [[2, 1, 3], [3, 2, 1], 'bool'],
      [[3, 2, 2, 2, 2], [1, 2, 1, 3, 1], 'float32']
    ]
    for (const [shape, reps, dtype] of cases) {
      const count = shape.reduce((a, b) => a * b, 1)
      const values = Array.from(randomValues(count, count), (v) =>
        dtype === 'float32' ? v : dtype === 'int32' ? Math.round(v * 100) : v > 0 ? 1 : 0
      )
      const { cpu, wasm } = await cpuAndWasm(() =>
        tf.cast(tf.tile(tf.tensor(values, shape, dtype), reps), 'float32')
      )
      expect(Array.from(wasm[0]!), `${shape} × ${reps} ${dtype}`).toEqual(Array.from(cpu[0]!))
    }
  })

  test('Sum and Mean over leading, middle and trailing axes, with and without keepDims', async () => {
    const shape: [number, number, number, number] = [3, 5, 4, 6]
    const values = randomValues(360, 21)
    for (const axes of [[0, 1, 2], [1, 2], [0], [2, 3], [3], [0, 2]]) {
      for (const keepDims of [false, true]) {
        const { cpu, wasm } = await cpuAndWasm(() => {
          const x = tf.tensor4d(values, shape)
          return [tf.sum(x, axes, keepDims), tf.mean(x, axes, keepDims)]
        })
        expect(relativeError(wasm[0]!, cpu[0]!), `sum ${axes}`).toBeLessThan(1e-6)
        expect(relativeError(wasm[1]!, cpu[1]!), `mean ${axes}`).toBeLessThan(1e-6)
      }
    }
    await tf.setBackend('wasm')
    expect(tf.sum(tf.ones([2, 3, 4]), [0, 1], true).shape).toEqual([1, 1, 4])
  })

  test('BatchMatMul with transposed operands, 2-D and batched, as the CPU backend', async () => {
    const cases: Array<[number[], number[], boolean, boolean]> = [
      [[37, 5], [37, 7], true, false],
      [[6, 11], [9, 11], false, true],
      [[11, 6], [9, 11], true, true],
      [[3, 8, 5], [3, 8, 4], true, false],
      [[2, 4, 6], [2, 7, 6], false, true],
      [[5, 4], [4, 6], false, false]
    ]
    for (const [aShape, bShape, transposeA, transposeB] of cases) {
      const { cpu, wasm } = await cpuAndWasm(() => {
        const a: tf.Tensor = tf.tensor(randomValues(size(aShape), 41), aShape)
        const b: tf.Tensor = tf.tensor(randomValues(size(bShape), 43), bShape)
        return tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, transposeA, transposeB)
      })
      expect(
        relativeError(wasm[0]!, cpu[0]!),
        `${aShape} ${transposeA} x ${bShape} ${transposeB}`
      ).toBeLessThan(1e-5)
    }
  })

  test('UnsortedSegmentSum drops out-of-range ids like the CPU backend', async () => {
    const values = randomValues(6 * 3, 31)
    const { cpu, wasm } = await cpuAndWasm(() =>
      tf.unsortedSegmentSum(tf.tensor2d(values, [6, 3]), tf.tensor1d([0, 2, -1, 2, 5, 1], 'int32'), 4)
    )
    expect(Array.from(wasm[0]!)).toEqual(Array.from(cpu[0]!))
  })
})

// For these two the stock kernels disagree (WASM's MaxPoolGrad, CPU's ResizeNearestNeighborGrad
// were wrong): both backends are checked against a gradient computed from the definition.
describe('gradients checked against their definition', () => {
  const shape: [number, number, number, number] = [2, 7, 6, 3]
  const xValues = randomValues(2 * 7 * 6 * 3, 41)

  test.each([
    [2, 2, 2, 'valid'],
    [3, 3, 2, 'same'],
    [3, 3, 1, 'same'],
    [3, 3, 2, 'valid']
  ] as const)(
    "max pool %i×%i window, stride %i, %s padding: the gradient reaches each window's first maximum on both backends",
    async (k, _, stride, pad) => {
      // ReLU first: all-zero windows are common in real feature maps and were the failing case.
      const input = Float32Array.from(xValues, (v) => Math.max(0, v))
      const info = tf.backend_util.computePool2DInfo(shape, k, stride, 1, pad)
      const dyValues = randomValues(shape[0] * info.outHeight * info.outWidth * shape[3], 42)
      const expected = new Float32Array(input.length)
      const [B, H, W, C] = shape
      for (let b = 0; b < B; b++) {
        for (let oh = 0; oh < info.outHeight; oh++) {
          for (let ow = 0; ow < info.outWidth; ow++) {
            for (let c = 0; c < C; c++) {
              let best = -Infinity
              let at = -1
              for (let i = 0; i < k; i++) {
                for (let j = 0; j < k; j++) {
                  const ih = oh * stride + i - info.padInfo.top
                  const iw = ow * stride + j - info.padInfo.left
                  if (ih < 0 || iw < 0 || ih >= H || iw >= W) continue
                  const index = ((b * H + ih) * W + iw) * C + c
                  if (input[index]! > best) [best, at] = [input[index]!, index]
                }
              }
              expected[at]! += dyValues[((b * info.outHeight + oh) * info.outWidth + ow) * C + c]!
            }
          }
        }
      }
      const { cpu, wasm } = await cpuAndWasm(() => {
        const dy = tf.tensor4d(dyValues, [B, info.outHeight, info.outWidth, C])
        return tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(x as tf.Tensor4D, k, stride, pad), dy)))(
          tf.tensor4d(input, shape)
        )
      })
      expect(relativeError(cpu[0]!, expected)).toBeLessThan(1e-6)
      expect(relativeError(wasm[0]!, expected)).toBeLessThan(1e-6)
    }
  )

  test.each([
    [[14, 12], false, false],
    [[10, 9], true, false],
    [[13, 11], false, true]
  ] as const)(
    'resize nearest to %j (alignCorners %s, halfPixelCenters %s): every image of the batch gets its own gradient',
    async (size, alignCorners, halfPixelCenters) => {
      const dyValues = randomValues(shape[0] * size[0] * size[1] * shape[3], 43)
      // Nearest-neighbour resizing copies pixels, so d(sum(resize(x)·dy))/dx is the sum of the dy
      // values copied from each pixel: read the copy map off the forward pass of an index image.
      await tf.setBackend('cpu')
      const source = tf.tidy(() =>
        tf.image
          .resizeNearestNeighbor(
            tf.tensor4d(
              Float32Array.from({ length: xValues.length }, (_, i) => i),
              shape
            ),
            [size[0], size[1]],
            alignCorners,
            halfPixelCenters
          )
          .dataSync()
      )
      const expected = new Float32Array(xValues.length)
      source.forEach((from, i) => (expected[from]! += dyValues[i]!))
      const { cpu, wasm } = await cpuAndWasm(() => {
        const dy = tf.tensor4d(dyValues, [shape[0], size[0], size[1], shape[3]])
        return tf.grad((x: tf.Tensor) =>
          tf.sum(
            tf.mul(
              tf.image.resizeNearestNeighbor(
                x as tf.Tensor4D,
                [size[0], size[1]],
                alignCorners,
                halfPixelCenters
              ),
              dy
            )
          )
        )(tf.tensor4d(xValues, shape))
      })
      expect(relativeError(cpu[0]!, expected)).toBeLessThan(1e-6)
      expect(relativeError(wasm[0]!, expected)).toBeLessThan(1e-6)
    }
  )
})
