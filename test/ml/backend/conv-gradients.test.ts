// The WASM convolution gradients must equal the CPU backend's (the reference implementation):
// a detector trained on WASM has to learn exactly what it would learn on the CPU, only faster.
// Tolerance: max |wasm − cpu| ≤ 1e-4 × max |cpu| over each gradient tensor.
import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, test } from 'vitest'
import { im2colFilterGradient } from '../../../main/ml/backend/wasm-kernels/conv2d-backprop-filter'
import { convGeometry, type PadAttr } from '../../../main/ml/backend/wasm-kernels/conv-geometry'
import { planeFilterGradient } from '../../../main/ml/backend/wasm-kernels/filter-gradient-planes'
import type { BackendWasm } from '../../../main/ml/backend/wasm-kernels/heap'
import { bothBackends, cpuAndWasm, randomValues, relativeError, size, valuesOn } from './helpers'

const TOLERANCE = 1e-4

beforeAll(bothBackends)

type Shape4 = [number, number, number, number]

interface ConvCase {
  x: Shape4
  filter: Shape4
  stride: number
  pad: PadAttr
}

const PADS: PadAttr[] = [
  'same',
  'valid',
  1,
  [
    [0, 0],
    [2, 0],
    [0, 3],
    [0, 0]
  ]
]

function convCases(): ConvCase[] {
  const cases: ConvCase[] = []
  for (const [h, w] of [
    [8, 8],
    [7, 9]
  ] as const) {
    for (const k of [1, 2, 3, 5]) {
      for (const stride of [1, 2, 3]) {
        for (const pad of PADS) {
          if (pad === 'valid' && k > h) continue
          cases.push({ x: [2, h, w, 3], filter: [k, k, 3, 4], stride, pad })
        }
      }
    }
  }
  // wider layers take the shifted-plane path of the filter gradient, single channels im2col
  cases.push({ x: [2, 16, 16, 8], filter: [3, 3, 8, 16], stride: 1, pad: 'same' })
  cases.push({ x: [2, 17, 15, 12], filter: [3, 3, 12, 8], stride: 2, pad: 'same' })
  cases.push({ x: [1, 33, 31, 1], filter: [3, 3, 1, 8], stride: 2, pad: 'valid' })
  return cases
}

function label(c: ConvCase): string {
  return `x ${c.x.join('×')} filter ${c.filter.join('×')} stride ${c.stride} pad ${JSON.stringify(c.pad)}`
}

describe('Conv2D gradients (Conv2DBackpropInput, Conv2DBackpropFilter)', () => {
  test.each(convCases().map((c) => [label(c), c] as const))(
    '%s: dx and dW match the CPU backend',
    async (_, c) => {
      const xValues = randomValues(size(c.x), 1)
      const filterValues = randomValues(size(c.filter), 2)
      const { cpu, wasm } = await cpuAndWasm(() => {
        const x = tf.tensor4d(xValues, c.x)
        const filter = tf.tensor4d(filterValues, c.filter)
        const y = tf.conv2d(x, filter, c.stride, c.pad as 'same')
        const dy = tf.tensor(randomValues(y.size, 3), y.shape)
        const grads = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad as 'same'), dy))
        )
        return grads([x, filter])
      })
      expect(relativeError(wasm[0]!, cpu[0]!), 'dx').toBeLessThan(TOLERANCE)
      expect(relativeError(wasm[1]!, cpu[1]!), 'dW').toBeLessThan(TOLERANCE)
    }
  )

  test('NCHW inputs give the same gradients as on the CPU backend', async () => {
    const xShape: Shape4 = [2, 3, 9, 8]
    const filterShape: Shape4 = [3, 3, 3, 5]
    const xValues = randomValues(size(xShape), 4)
    const filterValues = randomValues(size(filterShape), 5)
    const { cpu, wasm } = await cpuAndWasm(() => {
      const x = tf.tensor4d(xValues, xShape)
      const filter = tf.tensor4d(filterValues, filterShape)
      const dy = tf.tensor4d(randomValues(2 * 5 * 5 * 4, 6), [2, 5, 5, 4])
      const attrs = { strides: 2, pad: 'same', dataFormat: 'NCHW' }
      const dx = tf
        .engine()
        .runKernel('Conv2DBackpropInput', { dy, filter }, { ...attrs, inputShape: xShape }) as tf.Tensor
      const dW = tf
        .engine()
        .runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape }) as tf.Tensor
      return [dx, dW]
    })
    expect(relativeError(wasm[0]!, cpu[0]!)).toBeLessThan(TOLERANCE)
    expect(relativeError(wasm[1]!, cpu[1]!)).toBeLessThan(TOLERANCE)
  })

  test('both filter-gradient methods (shifted planes, im2col) agree with the CPU backend, dilated too', async () => {
    const shapes: Array<{ x: Shape4; filter: Shape4; stride: number; dilation: number; pad: PadAttr }> = [
      { x: [2, 12, 10, 9], filter: [3, 3, 9, 6], stride: 1, dilation: 1, pad: 'same' },
      { x: [2, 13, 11, 9], filter: [3, 3, 9, 6], stride: 2, dilation: 1, pad: 'same' },
      { x: [1, 14, 14, 8], filter: [5, 5, 8, 4], stride: 3, dilation: 1, pad: 'valid' },
      { x: [2, 12, 12, 8], filter: [3, 3, 8, 4], stride: 1, dilation: 2, pad: 'same' }
    ]
    for (const c of shapes) {
      const xValues = randomValues(size(c.x), 7)
      const dyShape = convGeometry(c.x, c.filter, c.stride, c.dilation, c.pad, undefined, false)
      const dyValues = randomValues(c.x[0] * dyShape.outHeight * dyShape.outWidth * c.filter[3], 8)
      // Reference: the CPU kernel on a zero-inserted ("expanded") filter has no dilation to get wrong.
      const expandedSize = (k: number) => (k - 1) * c.dilation + 1
      const expanded: Shape4 = [
        expandedSize(c.filter[0]),
        expandedSize(c.filter[1]),
        c.filter[2],
        c.filter[3]
      ]
      const [reference] = await valuesOn('cpu', () => {
        const x = tf.tensor4d(xValues, c.x)
        const dy = tf.tensor4d(dyValues, [c.x[0], dyShape.outHeight, dyShape.outWidth, c.filter[3]])
        const full = tf
          .engine()
          .runKernel(
            'Conv2DBackpropFilter',
            { x, dy },
            { strides: c.stride, pad: c.pad, dataFormat: 'NHWC', filterShape: expanded }
          ) as tf.Tensor4D
        return tf.stridedSlice(full, [0, 0, 0, 0], full.shape, [c.dilation, c.dilation, 1, 1])
      })
      await tf.setBackend('wasm')
      const backend = tf.backend() as unknown as BackendWasm
      const g = convGeometry(c.x, c.filter, c.stride, c.dilation, c.pad, undefined, false)
      for (const method of [planeFilterGradient, im2colFilterGradient]) {
        const values = tf.tidy(() => {
          const x = tf.tensor4d(xValues, c.x)
          const dy = tf.tensor4d(dyValues, [c.x[0], g.outHeight, g.outWidth, c.filter[3]])
          const info = method(backend, x, dy, g)
          return Float32Array.from(tf.engine().makeTensorFromTensorInfo(info).dataSync())
        })
        expect(relativeError(values, reference!), `${method.name} ${JSON.stringify(c)}`).toBeLessThan(
          TOLERANCE
        )
      }
    }
  })

  test('a batch of gradients leaves no tensor or WASM heap block behind', async () => {
    await tf.setBackend('wasm')
    const backend = tf.backend()
    const before = { tensors: tf.memory().numTensors, dataIds: backend.numDataIds() }
    // 32×32×8 takes the shifted-plane path for dW, 8×8×8 the im2col path; strides 1 and 2 for dx
    for (const [size, stride] of [
      [32, 1],
      [32, 2],
      [8, 1],
      [8, 2]
    ] as const) {
      const x = tf.tensor4d(randomValues(2 * size * size * 8, 9), [2, size, size, 8])
      const filter = tf.tensor4d(randomValues(3 * 3 * 8 * 8, 10), [3, 3, 8, 8])
      tf.tidy(() => {
        tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, 'same'))
        )([x, filter])
      })
      tf.dispose([x, filter])
    }
    expect(tf.memory().numTensors).toBe(before.tensors)
    expect(backend.numDataIds()).toBe(before.dataIds)
  })
})

describe('depthwise gradients (DepthwiseConv2dNativeBackpropInput/Filter)', () => {
  const cases: Array<{
    x: Shape4
    k: number
    multiplier: number
    stride: number
    dilation: number
    pad: PadAttr
  }> = []
  for (const [h, w] of [
    [8, 8],
    [7, 9]
  ] as const) {
    for (const k of [1, 3, 4]) {
      for (const [stride, dilation] of [
        [1, 1],
        [2, 1],
        [1, 2]
      ] as const) {
        for (const multiplier of [1, 2]) {
          for (const pad of ['same', 'valid', 1] as PadAttr[]) {
            if (pad === 'valid' && (k - 1) * dilation + 1 > h) continue
            cases.push({ x: [2, h, w, 3], k, multiplier, stride, dilation, pad })
          }
        }
      }
    }
  }

  test.each(cases.map((c) => [JSON.stringify(c), c] as const))(
    '%s: dx and dW match the CPU reference',
    async (_, c) => {
      const filterShape: Shape4 = [c.k, c.k, c.x[3], c.multiplier]
      const xValues = randomValues(size(c.x), 11)
      const filterValues = randomValues(size(filterShape), 12)
      const g = convGeometry(c.x, filterShape, c.stride, c.dilation, c.pad, undefined, true)
      const dyShape: Shape4 = [c.x[0], g.outHeight, g.outWidth, c.x[3] * c.multiplier]
      const dyValues = randomValues(size(dyShape), 13)
      const attrs = { strides: c.stride, pad: c.pad, dilations: c.dilation }
      const wasm = await valuesOn('wasm', () => {
        const x = tf.tensor4d(xValues, c.x)
        const filter = tf.tensor4d(filterValues, filterShape)
        const dy = tf.tensor4d(dyValues, dyShape)
        return [
          tf
            .engine()
            .runKernel(
              'DepthwiseConv2dNativeBackpropInput',
              { dy, filter },
              { ...attrs, inputShape: c.x }
            ) as tf.Tensor,
          tf
            .engine()
            .runKernel(
              'DepthwiseConv2dNativeBackpropFilter',
              { x, dy },
              { ...attrs, filterShape }
            ) as tf.Tensor
        ]
      })
      // The CPU kernels ignore dilations, so the reference uses a zero-inserted filter without any.
      const span = (c.k - 1) * c.dilation + 1
      const cpu = await valuesOn('cpu', () => {
        const x = tf.tensor4d(xValues, c.x)
        const dy = tf.tensor4d(dyValues, dyShape)
        const filter = tf.tensor4d(filterValues, filterShape)
        const expanded = c.dilation === 1 ? filter : dilateFilter(filter, c.dilation)
        const flat = { strides: c.stride, pad: c.pad, dilations: 1 }
        const dx = tf
          .engine()
          .runKernel(
            'DepthwiseConv2dNativeBackpropInput',
            { dy, filter: expanded },
            { ...flat, inputShape: c.x }
          ) as tf.Tensor
        const dWFull = tf
          .engine()
          .runKernel(
            'DepthwiseConv2dNativeBackpropFilter',
            { x, dy },
            { ...flat, filterShape: [span, span, c.x[3], c.multiplier] }
          ) as tf.Tensor4D
        const dW = tf.stridedSlice(dWFull, [0, 0, 0, 0], dWFull.shape, [c.dilation, c.dilation, 1, 1])
        return [dx, dW]
      })
      expect(relativeError(wasm[0]!, cpu[0]!), 'dx').toBeLessThan(TOLERANCE)
      expect(relativeError(wasm[1]!, cpu[1]!), 'dW').toBeLessThan(TOLERANCE)
    }
  )

  test('tf.grads of a depthwise conv runs on WASM and matches the CPU backend', async () => {
    const xValues = randomValues(2 * 10 * 10 * 6, 14)
    const filterValues = randomValues(3 * 3 * 6 * 1, 15)
    const { cpu, wasm } = await cpuAndWasm(() => {
      const x = tf.tensor4d(xValues, [2, 10, 10, 6])
      const filter = tf.tensor4d(filterValues, [3, 3, 6, 1])
      return tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.square(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same')))
      )([x, filter])
    })
    expect(relativeError(wasm[0]!, cpu[0]!)).toBeLessThan(TOLERANCE)
    expect(relativeError(wasm[1]!, cpu[1]!)).toBeLessThan(TOLERANCE)
  })
})

/** [k,k,C,M] → [(k−1)d+1, …] with the taps at multiples of d and zeros between. */
function dilateFilter(filter: tf.Tensor4D, dilation: number): tf.Tensor4D {
  const [k, , channels, multiplier] = filter.shape
  const span = (k - 1) * dilation + 1
  const source = filter.dataSync()
  const values = new Float32Array(span * span * channels * multiplier)
  const block = channels * multiplier
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      const src = (i * k + j) * block
      values.set(source.subarray(src, src + block), (i * dilation * span + j * dilation) * block)
    }
  }
  return tf.tensor4d(values, [span, span, channels, multiplier])
}
