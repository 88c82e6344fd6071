// A whole training step of the benchmark's conv net (conv–BN–ReLU stages, two heads, three losses)
// must give the same loss and gradients on WASM as on the CPU backend, and its profile must say
// where the time went without leaking tensors.
import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, expect, test } from 'vitest'
import { BenchNet, syntheticBatch } from '../../../main/ml/backend/bench/net'
import { formatProfile, profileStep } from '../../../main/ml/backend/profile'
import { bothBackends, cpuAndWasm, relativeError } from './helpers'

beforeAll(bothBackends)

test('one training step of the benchmark net: WASM loss and every gradient equal the CPU backend', async () => {
  const { cpu, wasm } = await cpuAndWasm(() => {
    const net = new BenchNet(3)
    // 64 px, not less: at 32 px the last batch norm sees 2 values per channel and the CPU's own
    // gradients move by 1e-3 when the input moves by 1e-6, so no backend could match to 1e-4.
    const batch = syntheticBatch(2, 64)
    const { value, grads } = tf.variableGrads(() => net.loss(batch), net.trainable)
    const result = [value, ...net.trainable.map((v) => grads[v.name]!)]
    net.dispose()
    return result
  })
  expect(cpu).toHaveLength(1 + 9 * 3 + 4)
  expect(relativeError(wasm[0]!, cpu[0]!), 'loss').toBeLessThan(1e-4)
  cpu
    .slice(1)
    .forEach((expected, i) =>
      expect(relativeError(wasm[i + 1]!, expected), `gradient ${i}`).toBeLessThan(1e-4)
    )
})

test('profiling a WASM training step names the conv gradient kernels and leaks nothing', async () => {
  await tf.setBackend('wasm')
  const net = new BenchNet(4)
  const batch = syntheticBatch(2, 64)
  const optimizer = tf.train.adam(1e-3)
  const step = () => {
    optimizer.minimize(() => net.loss(batch), false, net.trainable)
  }
  step() // the optimizer creates its slot variables on the first step
  const profile = await profileStep(step)
  expect(profile.backend).toBe('wasm')
  expect(profile.clock).toBe('cpu')
  expect(profile.newTensors).toBe(0)
  const names = profile.kernels.map((k) => k.kernelName)
  expect(names).toEqual(
    expect.arrayContaining(['Conv2D', 'Conv2DBackpropFilter', 'Conv2DBackpropInput', 'FusedBatchNorm'])
  )
  expect(profile.kernels.reduce((sum, k) => sum + k.share, 0)).toBeCloseTo(1, 6)
  expect(profile.kernelMs).toBeGreaterThan(0)
  expect(profile.kernelMs).toBeLessThanOrEqual(profile.cpuMs * 1.05)
  expect(formatProfile(profile, 3).split('\n')).toHaveLength(4)
  net.dispose()
  optimizer.dispose()
  tf.dispose([batch.images, batch.studyLabels, batch.boxTargets])
})
