// The tfjs backend ladder: tfjs-node-gpu (CUDA) → tfjs-node → WASM → pure-JS CPU, chosen at run
// time. Every rung that is skipped is recorded with the reason, so the UI and the CLI can always
// say which backend runs and why a faster one does not.
import * as tf from '@tensorflow/tfjs-core'
import { version_cpu } from '@tensorflow/tfjs-backend-cpu'
import { getThreadsCount, setWasmPaths, version_wasm } from '@tensorflow/tfjs-backend-wasm'
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { availableParallelism } from 'node:os'
import { dirname, join } from 'node:path'
import { UserError, errorMessage } from '../../core/errors'
import './tfjs-gradients'
import { registerCpuKernelFixes } from './cpu-kernels'
import { registerWasmKernels } from './wasm-kernels'

import { BACKEND_CHOICES, type BackendChoice } from '../../../common/training'
import type { BackendFallback, BackendInfo } from '../../../common/contract/training'

export { BACKEND_CHOICES, type BackendChoice } from '../../../common/training'
export type BackendName = 'tensorflow' | 'wasm' | 'cpu'

export type { BackendFallback, BackendInfo } from '../../../common/contract/training'

export interface LadderOptions {
  /** How optional packages are loaded; tests pass one that simulates a present-but-broken package. */
  loadModule?: (specifier: string) => Promise<unknown>
  /** Name of the CUDA device, or null; by default asked from `nvidia-smi`. */
  gpuName?: () => Promise<string | null>
}

const TENSORFLOW_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const

let current: BackendInfo | null = null

/**
 * Makes the chosen backend the active tfjs backend and describes it. `auto` walks the whole
 * ladder; an explicit choice either works or throws a UserError that says why.
 */
export async function initBackend(
  choice: BackendChoice = 'auto',
  options: LadderOptions = {}
): Promise<BackendInfo> {
  if (!(BACKEND_CHOICES as readonly string[]).includes(choice)) {
    throw new UserError(`unknown backend '${choice}' (expected one of ${BACKEND_CHOICES.join(', ')})`)
  }
  const fallbacks: BackendFallback[] = []
  const rungs: BackendName[] = choice === 'auto' ? ['tensorflow', 'wasm', 'cpu'] : [choice]
  for (const rung of rungs) {
    const info = await tryRung(rung, fallbacks, options)
    if (info) {
      current = info
      return info
    }
  }
  const reasons = fallbacks.map((f) => `${f.backend}: ${f.reason}`).join('; ')
  throw new UserError(`backend '${choice}' is not available here (${reasons})`)
}

/** The backend chosen by the last successful initBackend, or null before any. */
export function currentBackend(): BackendInfo | null {
  return current
}

/** One line for status bars and logs, e.g. `wasm (SIMD) on CPU, 1 thread, tfjs 4.22.0 — not used: …`. */
export function describeBackend(info: BackendInfo | null = current): string {
  if (!info) return 'no tfjs backend initialised'
  const build = info.simd === undefined ? '' : info.simd ? ' (SIMD)' : ' (no SIMD)'
  const threads = `${info.threads} thread${info.threads === 1 ? '' : 's'}`
  let line = `${info.name}${build} on ${info.device}, ${threads}, tfjs ${info.tfjsVersion}, ${info.package} ${info.backendVersion}`
  if (info.fallbacks.length > 0) {
    line += ` — not used: ${info.fallbacks.map((f) => `${f.backend} (${f.reason})`).join('; ')}`
  }
  return line
}

async function tryRung(
  rung: BackendName,
  fallbacks: BackendFallback[],
  options: LadderOptions
): Promise<BackendInfo | null> {
  if (rung === 'tensorflow') return tryTensorflow(fallbacks, options)
  if (rung === 'wasm') return tryWasm(fallbacks)
  return tryCpu(fallbacks)
}

async function tryTensorflow(
  fallbacks: BackendFallback[],
  options: LadderOptions
): Promise<BackendInfo | null> {
  const load = options.loadModule ?? ((specifier: string) => import(/* @vite-ignore */ specifier))
  for (const pkg of TENSORFLOW_PACKAGES) {
    let module: { version?: Record<string, string> }
    try {
      module = (await load(pkg)) as typeof module
    } catch (err) {
      fallbacks.push({ backend: pkg, reason: loadFailure(err) })
      continue
    }
    const failure = await activate('tensorflow')
    if (failure) {
      fallbacks.push({ backend: pkg, reason: failure })
      continue
    }
    const tfBackend = tf.backend() as unknown as {
      isUsingGpuDevice?: boolean
      binding?: { TF_Version?: string }
    }
    const onGpu = Boolean(tfBackend.isUsingGpuDevice)
    if (pkg === '@tensorflow/tfjs-node-gpu' && !onGpu) {
      // The GPU build loaded but TensorFlow found no CUDA device: it still runs, on the CPU.
      fallbacks.push({
        backend: `${pkg} on GPU`,
        reason: 'TensorFlow found no usable CUDA device; running on the CPU'
      })
    }
    const gpuName = onGpu ? await (options.gpuName ?? nvidiaSmiName)() : null
    const nodeVersion = module.version?.['tfjs-node'] ?? tf.version_core
    const libVersion = tfBackend.binding?.TF_Version
    return {
      name: 'tensorflow',
      device: onGpu ? `GPU (CUDA)${gpuName ? ` ${gpuName}` : ''}` : 'CPU',
      tfjsVersion: tf.version_core,
      backendVersion: libVersion ? `${nodeVersion} (libtensorflow ${libVersion})` : nodeVersion,
      threads: availableParallelism(),
      fallbacks,
      package: pkg
    }
  }
  return null
}

let wasmPathsSet = false

async function tryWasm(fallbacks: BackendFallback[]): Promise<BackendInfo | null> {
  let folder: string
  try {
    folder = wasmFolder()
  } catch (err) {
    fallbacks.push({ backend: 'wasm', reason: errorMessage(err) })
    return null
  }
  if (!wasmPathsSet) {
    // A file path, not a URL: under Node the Emscripten loader reads the binary with fs.
    setWasmPaths(folder + '/')
    wasmPathsSet = true
  }
  const kernels = registerWasmKernels()
  const failure = await activate('wasm')
  if (failure) {
    fallbacks.push({ backend: 'wasm', reason: failure })
    return null
  }
  return {
    name: 'wasm',
    device: 'CPU',
    tfjsVersion: tf.version_core,
    backendVersion: version_wasm,
    threads: getThreadsCount(),
    fallbacks,
    package: '@tensorflow/tfjs-backend-wasm',
    simd: Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')),
    kernels
  }
}

async function tryCpu(fallbacks: BackendFallback[]): Promise<BackendInfo | null> {
  registerCpuKernelFixes()
  const failure = await activate('cpu')
  if (failure) {
    fallbacks.push({ backend: 'cpu', reason: failure })
    return null
  }
  // The CPU backend greets Node users with advice to install tfjs-node; the ladder already says
  // which backend runs and why, so the banner would only confuse CLI output.
  ;(tf.backend() as unknown as { firstUse?: boolean }).firstUse = false
  return {
    name: 'cpu',
    device: 'CPU',
    tfjsVersion: tf.version_core,
    backendVersion: version_cpu,
    threads: 1,
    fallbacks,
    package: '@tensorflow/tfjs-backend-cpu'
  }
}

/** The folder holding tfjs-backend-wasm's .wasm binaries in node_modules. */
export function wasmFolder(): string {
  const require = createRequire(import.meta.url)
  const main = require.resolve('@tensorflow/tfjs-backend-wasm')
  const folder = dirname(main)
  const binary = join(folder, 'tfjs-backend-wasm-simd.wasm')
  if (!existsSync(binary)) throw new Error(`WASM binary missing: ${binary}`)
  return folder
}

/** Switches tfjs to `name`; returns null on success or the reason it failed. */
async function activate(name: BackendName): Promise<string | null> {
  if (!tf.findBackendFactory(name)) return `no '${name}' backend is registered`
  const warnings: string[] = []
  const warn = console.warn
  // tfjs reports initialisation errors only as console warnings; keep them as the reason.
  console.warn = (...args: unknown[]) => {
    warnings.push(args.map(String).join(' '))
  }
  try {
    const ok = await tf.setBackend(name)
    await tf.ready()
    if (!ok || tf.getBackend() !== name) {
      const detail = warnings
        .filter((w) => !w.startsWith('Initialization of backend'))
        .join(' ')
        .split('\n')[0]
      return `initialisation failed${detail ? `: ${detail}` : ''}`
    }
    return null
  } catch (err) {
    return `initialisation failed: ${errorMessage(err)}`
  } finally {
    console.warn = warn
  }
}

function loadFailure(err: unknown): string {
  const code = (err as { code?: string }).code
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
    return 'not installed (optional dependency; its install must download libtensorflow)'
  }
  // e.g. "libcudart.so.11.0: cannot open shared object file" from the native binding
  return errorMessage(err).split('\n')[0]!
}

function nvidiaSmiName(): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(
      'nvidia-smi',
      ['--query-gpu=name', '--format=csv,noheader'],
      { timeout: 5000 },
      (err, stdout) => {
        resolve(err ? null : stdout.split('\n')[0]!.trim() || null)
      }
    )
  })
}
