// What ran a prediction, in one line for the CLI, the Predictions view and logs. Kept free of tfjs
// and ONNX Runtime imports: the back end's own process describes stored predictions with it.
import type { InferenceRuntimeInfo } from '../../../common/contract/training'

/** `onnxruntime 1.30.0 (cpu provider, 2 threads)` or `tfjs 4.22.0 (wasm on CPU, 1 thread)`, then what was not used. */
export function describeRuntime(
  runtime: InferenceRuntimeInfo,
  options: { fallbacks?: boolean } = {}
): string {
  const threads = `${runtime.threads} thread${runtime.threads === 1 ? '' : 's'}`
  const what =
    runtime.name === 'onnxruntime'
      ? `onnxruntime ${runtime.version} (${runtime.executionProvider} provider, ${threads})`
      : `tfjs ${runtime.version} (${runtime.executionProvider} on ${runtime.device}, ${threads})`
  if (options.fallbacks === false || runtime.fallbacks.length === 0) return what
  return `${what} — not used: ${runtime.fallbacks.map((f) => `${f.runtime} (${f.reason})`).join('; ')}`
}
