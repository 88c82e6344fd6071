// The WASM backend's kernels for training a conv detector: the gradients it lacks (added), the
// ones that are slow or wrong (replaced), and the reductions/tiling that dominated a profiled
// training step. Call once before use (initBackend does it); idempotent.
import { getKernel, registerKernel, unregisterKernel, type KernelConfig } from '@tensorflow/tfjs-core'
import { batchMatMulConfig } from './batch-matmul'
import { conv2DBackpropFilterConfig } from './conv2d-backprop-filter'
import { conv2DBackpropInputConfig } from './conv2d-backprop-input'
import { depthwiseBackpropFilterConfig, depthwiseBackpropInputConfig } from './depthwise-backprop'
import { captureStockKernel } from './heap'
import { maxPoolGradConfig } from './max-pool-grad'
import { meanConfig, sumConfig } from './reduce'
import { resizeNearestNeighborGradConfig } from './resize-nearest-grad'
import { tileConfig } from './tile'
import { unsortedSegmentSumConfig } from './unsorted-segment-sum'

/** Stock kernels ours call (directly or as a fallback); captured before anything is replaced. */
const COMPOSED_FROM = [
  'Conv2D',
  'DepthwiseConv2dNative',
  'BatchMatMul',
  'Slice',
  'Transpose',
  'PadV2',
  'Tile',
  'Sum',
  'Mean'
]

export interface WasmKernelRegistration {
  kernelName: string
  /** 'added' when stock WASM has no such kernel, 'replaced' when ours supersedes a slow or wrong one. */
  action: 'added' | 'replaced'
}

export const WASM_KERNELS: readonly KernelConfig[] = [
  conv2DBackpropFilterConfig, // missing
  conv2DBackpropInputConfig, // stock one is a scalar loop, ~5× slower than the forward conv
  depthwiseBackpropFilterConfig, // missing
  depthwiseBackpropInputConfig, // missing
  unsortedSegmentSumConfig, // missing (gradient of tf.gather)
  maxPoolGradConfig, // stock one routes gradients of non-positive windows to the wrong pixel
  resizeNearestNeighborGradConfig, // stock one ignores halfPixelCenters
  tileConfig, // stock one is ~500× slower than a copy (batch-norm gradient)
  sumConfig, // stock ones transpose before reducing over leading axes
  meanConfig,
  batchMatMulConfig // stock one is 4-12× slower with a transposed operand (every matMul gradient)
]

let registered: WasmKernelRegistration[] | null = null

export function registerWasmKernels(): WasmKernelRegistration[] {
  if (registered) return registered
  for (const name of COMPOSED_FROM) captureStockKernel(name)
  registered = WASM_KERNELS.map((config) => {
    const existing = getKernel(config.kernelName, 'wasm')
    if (existing) unregisterKernel(config.kernelName, 'wasm')
    // Keep the stock kernel's setup (its cwrap of the C++ function): our fallbacks still call it.
    registerKernel(
      existing ? { ...config, setupFunc: existing.setupFunc, disposeFunc: existing.disposeFunc } : config
    )
    return { kernelName: config.kernelName, action: existing ? 'replaced' : 'added' }
  })
  return registered
}
