// Choosing the inference runtime: auto falls back to tfjs with the reason, onnx insists, tfjs never
// loads ONNX Runtime; execution providers the platform lacks are skipped with a reason.
import { describe, expect, it } from 'vitest'
import { UserError } from '../../../main/core/errors'
import { candidateProviders, chooseRuntime, loadOnnxRuntime } from '../../../main/ml/onnx/runtime'
import { describeRuntime } from '../../../main/ml/predict/runtime-info'

const missing = () => Promise.reject(new Error("Cannot find module 'onnxruntime-node'\nRequire stack: ..."))

describe('chooseRuntime', () => {
  it('auto: tfjs when ONNX Runtime cannot load, with the reason recorded', async () => {
    const chosen = await chooseRuntime('auto', missing)
    expect(chosen.ort).toBeNull()
    expect(chosen.fallbacks).toEqual([
      {
        runtime: 'onnxruntime',
        reason: "onnxruntime-node cannot be loaded: Cannot find module 'onnxruntime-node'"
      }
    ])
  })

  it('onnx: a user error naming why it cannot load', async () => {
    const attempt = chooseRuntime('onnx', missing)
    await expect(attempt).rejects.toBeInstanceOf(UserError)
    await expect(chooseRuntime('onnx', missing)).rejects.toThrow(/--runtime onnx: .*Cannot find module/)
  })

  it('tfjs: never loads ONNX Runtime', async () => {
    let loads = 0
    const chosen = await chooseRuntime('tfjs', async () => {
      loads++
      return {}
    })
    expect(chosen).toEqual({ ort: null, fallbacks: [] })
    expect(loads).toBe(0)
  })

  it('auto: ONNX Runtime when it loads here', async () => {
    const chosen = await chooseRuntime('auto')
    expect(chosen.ort).not.toBeNull()
    expect(chosen.fallbacks).toEqual([])
  })

  it('a module without an InferenceSession is not taken for ONNX Runtime', async () => {
    const { ort, reason } = await loadOnnxRuntime(async () => ({ default: {} }))
    expect(ort).toBeNull()
    expect(reason).toMatch(/without an InferenceSession/)
  })
})

describe('execution providers', () => {
  it('tries the platform GPU provider first, records it when this build lacks it, and ends with the CPU', async () => {
    const { ort } = await loadOnnxRuntime()
    const windows = candidateProviders(ort!, 'win32')
    // the Linux build of onnxruntime-node has no DirectML provider
    expect(windows.providers).toEqual(['cpu'])
    expect(windows.skipped).toEqual([
      { runtime: 'onnxruntime dml', reason: 'not in this build of onnxruntime-node' }
    ])
    expect(candidateProviders(ort!, 'linux').providers.at(-1)).toBe('cpu')
  })

  it('describes the runtime in one line, with what was not used', () => {
    const line = describeRuntime({
      name: 'onnxruntime',
      version: '1.30.0',
      device: 'CPU',
      executionProvider: 'cpu',
      threads: 2,
      fallbacks: [{ runtime: 'onnxruntime cuda', reason: 'CUDA provider files not installed' }]
    })
    expect(line).toBe(
      'onnxruntime 1.30.0 (cpu provider, 2 threads) — not used: onnxruntime cuda (CUDA provider files not installed)'
    )
  })
})
