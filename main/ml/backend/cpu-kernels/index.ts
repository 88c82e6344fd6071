// Corrections to the pure-JS CPU backend's kernels, registered by the ladder before it is used.
import { getKernel, registerKernel, unregisterKernel } from '@tensorflow/tfjs-core'
import { resizeNearestNeighborGradCpuConfig } from './resize-nearest-grad'

const CPU_KERNEL_FIXES = [resizeNearestNeighborGradCpuConfig]

let registered = false

export function registerCpuKernelFixes(): string[] {
  if (!registered) {
    for (const config of CPU_KERNEL_FIXES) {
      if (getKernel(config.kernelName, 'cpu')) unregisterKernel(config.kernelName, 'cpu')
      registerKernel(config)
    }
    registered = true
  }
  return CPU_KERNEL_FIXES.map((config) => config.kernelName)
}
