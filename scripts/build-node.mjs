// Bundles the plain-Node entry points (CLI, web host, workers) into out/node/.
// Dependencies stay external: codecs and tfjs load their .wasm files from node_modules.
import { build } from 'esbuild'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'

const entries = {
  cli: 'main/cli/index.ts',
  'decode-worker': 'main/workers/decode-worker.ts',
  'train-worker': 'main/workers/train-worker.ts',
  'predict-worker': 'main/workers/predict-worker.ts',
  'gradient-worker': 'main/workers/gradient-worker.ts',
  // the desktop app's back end, run in an Electron utilityProcess (main/electron/backend-client.ts)
  'backend-process': 'main/host/backend-process.ts'
}

const entryPoints = Object.fromEntries(Object.entries(entries).filter(([, file]) => existsSync(file)))

// tfjs-core's gradient registrations are ESM with extensionless imports Node cannot load from
// node_modules, so that one file is bundled (it shares tfjs' global engine); see main/ml/model/gradients.ts.
const requireFromHere = createRequire(import.meta.url)
const bundleTfjsGradients = {
  name: 'bundle-tfjs-gradients',
  setup(b) {
    b.onResolve({ filter: /^@tensorflow\/tfjs-core\/dist\/register_all_gradients$/ }, () => ({
      path: requireFromHere.resolve('@tensorflow/tfjs-core/dist/register_all_gradients.js')
    }))
  }
}

await build({
  entryPoints,
  outdir: 'out/node',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  plugins: [bundleTfjsGradients],
  sourcemap: true,
  logLevel: 'warning',
  banner: {
    // Bundled ESM still needs require() for the CommonJS codec builds.
    js: "import { createRequire as __cxrCreateRequire } from 'node:module'; const require = __cxrCreateRequire(import.meta.url);"
  }
})
