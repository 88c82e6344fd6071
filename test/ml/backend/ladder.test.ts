// The backend ladder picks the fastest backend that works here and tells the user why every
// faster one was skipped; an explicit --backend choice gets exactly that backend or a clear error.
import * as tf from '@tensorflow/tfjs-core'
import { describe, expect, test } from 'vitest'
import { UserError } from '../../../main/core/errors'
import { describeBackend, initBackend } from '../../../main/ml/backend/ladder'

const notInstalled = async (specifier: string): Promise<never> => {
  const err = new Error(`Cannot find package '${specifier}'`) as Error & { code: string }
  err.code = 'ERR_MODULE_NOT_FOUND'
  throw err
}

describe('initBackend', () => {
  test('auto without tfjs-node falls back to WASM and says why for both TensorFlow packages', async () => {
    // the real loader: neither optional package can be installed on this machine
    const info = await initBackend('auto')
    expect(info.name).toBe('wasm')
    expect(tf.getBackend()).toBe('wasm')
    expect(info.device).toBe('CPU')
    expect(info.threads).toBe(1)
    expect(info.simd).toBe(true)
    expect(info.tfjsVersion).toBe(tf.version_core)
    expect(info.fallbacks.map((f) => f.backend)).toEqual([
      '@tensorflow/tfjs-node-gpu',
      '@tensorflow/tfjs-node'
    ])
    for (const fallback of info.fallbacks) expect(fallback.reason).toMatch(/not installed/)
    expect(info.kernels?.map((k) => k.kernelName)).toEqual(
      expect.arrayContaining(['Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropInput'])
    )
    const line = describeBackend(info)
    expect(line).toContain('wasm (SIMD) on CPU, 1 thread')
    expect(line).toContain('@tensorflow/tfjs-node-gpu (not installed')
  })

  test('a TensorFlow package that is present but broken is reported with its loader error', async () => {
    const info = await initBackend('auto', {
      loadModule: async (specifier) => {
        if (specifier === '@tensorflow/tfjs-node-gpu')
          throw new Error(
            'libcudart.so.11.0: cannot open shared object file: No such file or directory\n    at Module._extensions'
          )
        return notInstalled(specifier)
      }
    })
    expect(info.name).toBe('wasm')
    expect(info.fallbacks[0]).toEqual({
      backend: '@tensorflow/tfjs-node-gpu',
      reason: 'libcudart.so.11.0: cannot open shared object file: No such file or directory'
    })
  })

  test('when tfjs-node loads, auto picks the tensorflow backend and reports its versions', async () => {
    // Stand-in for tfjs-node: registers a 'tensorflow' backend the way the real package does.
    const { MathBackendCPU } = await import('@tensorflow/tfjs-backend-cpu')
    const info = await initBackend('auto', {
      loadModule: async (specifier) => {
        if (specifier !== '@tensorflow/tfjs-node') return notInstalled(specifier)
        if (!tf.findBackendFactory('tensorflow')) {
          for (const kernel of tf.getKernelsForBackend('cpu'))
            tf.registerKernel({ ...kernel, backendName: 'tensorflow' })
          tf.registerBackend(
            'tensorflow',
            () => Object.assign(new MathBackendCPU(), { isUsingGpuDevice: false }),
            3
          )
        }
        return { version: { 'tfjs-node': '4.22.0' } }
      }
    })
    expect(info.name).toBe('tensorflow')
    expect(tf.getBackend()).toBe('tensorflow')
    expect(info.package).toBe('@tensorflow/tfjs-node')
    expect(info.device).toBe('CPU')
    expect(info.backendVersion).toBe('4.22.0')
    expect(info.fallbacks).toEqual([
      { backend: '@tensorflow/tfjs-node-gpu', reason: expect.stringMatching(/not installed/) }
    ])
    tf.removeBackend('tensorflow')
  })

  test('--backend cpu and --backend wasm get exactly what was asked', async () => {
    const cpu = await initBackend('cpu')
    expect(cpu.name).toBe('cpu')
    expect(tf.getBackend()).toBe('cpu')
    expect(cpu.fallbacks).toEqual([])
    expect(describeBackend(cpu)).toMatch(/^cpu on CPU, 1 thread/)
    const wasm = await initBackend('wasm')
    expect(wasm.name).toBe('wasm')
    expect(tf.getBackend()).toBe('wasm')
    expect(wasm.fallbacks).toEqual([])
  })

  test('--backend tensorflow without tfjs-node is a user error naming both packages', async () => {
    const attempt = initBackend('tensorflow', { loadModule: notInstalled })
    await expect(attempt).rejects.toBeInstanceOf(UserError)
    await expect(initBackend('tensorflow', { loadModule: notInstalled })).rejects.toThrow(
      /backend 'tensorflow' is not available here \(@tensorflow\/tfjs-node-gpu: not installed.*; @tensorflow\/tfjs-node: not installed/
    )
  })

  test('an unknown backend name is a user error', async () => {
    await expect(initBackend('webgpu' as never)).rejects.toThrow(
      /unknown backend 'webgpu' \(expected one of auto, tensorflow, wasm, cpu\)/
    )
  })
})
