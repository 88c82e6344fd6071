// Inference on ONNX Runtime (onnxruntime-node, an optional dependency): loads the binding when it
// can, opens a session on the best execution provider the platform has (CUDA, DirectML, CoreML,
// then the bundled CPU provider), and runs a detector exported by export.ts. Every provider or
// runtime that is skipped is recorded with the reason, like the tfjs backend ladder.
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { availableParallelism } from 'node:os'
import { dirname, join } from 'node:path'
import type * as Ort from 'onnxruntime-node'
import { UserError, errorMessage } from '../../core/errors'
import type { InferenceRuntimeInfo, RuntimeFallback } from '../../../common/contract/training'
import type { RuntimeChoice } from '../../../common/training'
import type { Detector, PredictionOutputs } from '../detect/detector'
import { exportDetectorOnnx, ONNX_OUTPUTS } from './export'

export type { InferenceRuntimeInfo, RuntimeFallback } from '../../../common/contract/training'

type OrtModule = typeof Ort

export interface OrtLoad {
  ort: OrtModule | null
  /** Why the binding could not be loaded (missing package, no prebuilt binary for this platform...). */
  reason: string | null
}

let loaded: Promise<OrtLoad> | null = null

/** Loads onnxruntime-node once per process and never throws; tests pass `load` to simulate a failure. */
export function loadOnnxRuntime(load?: () => Promise<unknown>): Promise<OrtLoad> {
  if (!load && loaded) return loaded
  const attempt = (load ?? (() => import(/* @vite-ignore */ 'onnxruntime-node')))().then(
    (module) => {
      const ort = ((module as { default?: OrtModule }).default ?? module) as OrtModule
      if (typeof ort?.InferenceSession?.create !== 'function')
        return { ort: null, reason: 'onnxruntime-node loaded without an InferenceSession' }
      return { ort, reason: null }
    },
    (err: unknown) => ({
      ort: null,
      reason: `onnxruntime-node cannot be loaded: ${firstLine(errorMessage(err))}`
    })
  )
  if (!load) loaded = attempt
  return attempt
}

/** Execution providers worth trying here, fastest first; the CPU provider always closes the list. */
export function candidateProviders(
  ort: OrtModule,
  platform: NodeJS.Platform = process.platform
): {
  providers: string[]
  skipped: RuntimeFallback[]
} {
  // CUDA only where an NVIDIA driver is loaded: elsewhere it is no fallback worth reporting
  const wanted =
    platform === 'win32'
      ? ['dml']
      : platform === 'darwin'
        ? ['coreml']
        : platform === 'linux' && existsSync('/dev/nvidiactl')
          ? ['cuda']
          : []
  const supported = new Map(ort.listSupportedBackends().map((b) => [b.name, b.bundled]))
  const providers: string[] = []
  const skipped: RuntimeFallback[] = []
  for (const name of wanted) {
    if (!supported.has(name)) {
      skipped.push({ runtime: `onnxruntime ${name}`, reason: 'not in this build of onnxruntime-node' })
    } else if (name === 'cuda' && !supported.get(name) && !cudaProviderInstalled()) {
      skipped.push({
        runtime: 'onnxruntime cuda',
        reason:
          'CUDA provider files not installed (onnxruntime-node downloads them separately: ' +
          'ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node)'
      })
    } else providers.push(name)
  }
  providers.push('cpu')
  return { providers, skipped }
}

function cudaProviderInstalled(): boolean {
  try {
    const main = createRequire(import.meta.url).resolve('onnxruntime-node')
    const root = join(dirname(main), '..')
    return existsSync(join(root, 'bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so'))
  } catch {
    return false
  }
}

export interface SessionOptions {
  /** Intra-op threads (default: every core). */
  threads?: number
}

/**
 * Opens `model` (a file or the bytes of an ONNX graph) on the first execution provider that works,
 * recording every provider skipped or failing; the CPU provider's failure is the error.
 */
export async function openOrtSession(
  ort: OrtModule,
  model: string | Uint8Array,
  options: SessionOptions & { fallbacks?: RuntimeFallback[] } = {}
): Promise<{ session: Ort.InferenceSession; info: InferenceRuntimeInfo }> {
  const threads = options.threads ?? availableParallelism()
  const { providers, skipped } = candidateProviders(ort)
  const fallbacks = [...(options.fallbacks ?? []), ...skipped]
  for (const provider of providers) {
    try {
      const sessionOptions: Ort.InferenceSession.SessionOptions = {
        executionProviders: [provider],
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
        // idle intra-op threads sleep instead of spinning: with two cores shared with decoding,
        // the UI or other jobs, spinning threads starve the one doing work (measured at load 9 on
        // 2 cores, EfficientDet-B0 256 px batch 8, 2 threads: 23 and 17 img/s spinning, 53 and 31 not)
        extra: { session: { intra_op: { allow_spinning: '0' } } }
      }
      const session =
        typeof model === 'string'
          ? await ort.InferenceSession.create(model, sessionOptions)
          : await ort.InferenceSession.create(model, sessionOptions)
      const info: InferenceRuntimeInfo = {
        name: 'onnxruntime',
        version: ort.env.versions?.node ?? 'unknown',
        device: provider === 'cpu' ? 'CPU' : provider.toUpperCase(),
        executionProvider: provider,
        threads,
        fallbacks
      }
      return { session, info }
    } catch (err) {
      if (provider === 'cpu') throw err
      fallbacks.push({ runtime: `onnxruntime ${provider}`, reason: firstLine(errorMessage(err)) })
    }
  }
  throw new Error('unreachable: the CPU provider closes the list')
}

/** An ONNX Runtime session on a detector, answering the outputs Detector.predictWith decodes. */
export class OnnxDetectorSession {
  private constructor(
    private readonly ort: OrtModule,
    private readonly session: Ort.InferenceSession,
    private readonly imageSize: number,
    readonly info: InferenceRuntimeInfo
  ) {}

  /** Exports `detector` in memory and opens it on the first provider that works. */
  static async open(
    ort: OrtModule,
    detector: Detector,
    options: SessionOptions & { fallbacks?: RuntimeFallback[] } = {}
  ): Promise<OnnxDetectorSession> {
    const { bytes } = exportDetectorOnnx(detector)
    const { session, info } = await openOrtSession(ort, bytes, options)
    return new OnnxDetectorSession(ort, session, detector.config.imageSize, info)
  }

  /** Every output of the graph for [batch, S, S, 1] images (NHWC floats in [0, 1]). */
  async run(images: Float32Array, batch: number): Promise<Record<string, Float32Array>> {
    const s = this.imageSize
    if (images.length !== batch * s * s)
      throw new Error(`images must be ${batch} x ${s} x ${s} x 1 floats; got ${images.length}`)
    const input = new this.ort.Tensor('float32', images, [batch, s, s, 1])
    const results = await this.session.run({ [this.session.inputNames[0]]: input })
    const out: Record<string, Float32Array> = {}
    for (const [name, tensor] of Object.entries(results)) {
      out[name] = tensor.data as Float32Array
      tensor.dispose()
    }
    input.dispose()
    return out
  }

  /** What Detector.predictWith needs, mirrored horizontally first when `flipped` (flip TTA). */
  async predictionOutputs(images: Float32Array, batch: number, flipped: boolean): Promise<PredictionOutputs> {
    const out = await this.run(flipped ? flipHorizontally(images, batch, this.imageSize) : images, batch)
    return {
      scores: out[ONNX_OUTPUTS.scores],
      boxRegression: out[ONNX_OUTPUTS.boxRegression],
      studyProbs: out[ONNX_OUTPUTS.studyProbs],
      noneScores: out[ONNX_OUTPUTS.noneScores]
    }
  }

  async close(): Promise<void> {
    await this.session.release()
  }
}

/** [B, S, S, 1] mirrored left-right (tf.reverse(images, 2)). */
export function flipHorizontally(images: Float32Array, batch: number, size: number): Float32Array {
  const out = new Float32Array(images.length)
  for (let row = 0; row < batch * size; row++) {
    const o = row * size
    for (let x = 0; x < size; x++) out[o + x] = images[o + size - 1 - x]
  }
  return out
}

export { RUNTIME_CHOICES, type RuntimeChoice } from '../../../common/training'

/**
 * Which runtime predicts: `auto` takes ONNX Runtime when it loads (recording why not otherwise),
 * `onnx` insists (a UserError naming the reason), `tfjs` never tries it.
 */
export async function chooseRuntime(
  choice: RuntimeChoice,
  load?: () => Promise<unknown>
): Promise<{ ort: OrtModule | null; fallbacks: RuntimeFallback[] }> {
  if (choice === 'tfjs') return { ort: null, fallbacks: [] }
  const { ort, reason } = await loadOnnxRuntime(load)
  if (ort) return { ort, fallbacks: [] }
  if (choice === 'onnx') throw new UserError(`--runtime onnx: ${reason}`)
  return { ort: null, fallbacks: [{ runtime: 'onnxruntime', reason: reason ?? 'not available' }] }
}

function firstLine(text: string): string {
  return text.split('\n')[0].trim()
}
