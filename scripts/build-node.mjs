// Bundles the plain-Node entry points (CLI, web host, workers) into out/node/.
// Dependencies stay external: codecs and tfjs load their .wasm files from node_modules.
import { build } from 'esbuild'
import { existsSync, writeFileSync } from 'node:fs'
import { nodeBundleOptions } from './esbuild-node.mjs'

const entries = {
  cli: 'main/cli/index.ts',
  'decode-worker': 'main/workers/decode-worker.ts',
  'train-worker': 'main/workers/train-worker.ts',
  'predict-worker': 'main/workers/predict-worker.ts',
  'gradient-worker': 'main/workers/gradient-worker.ts',
  // the desktop app's back end, run in an Electron utilityProcess (main/electron/backend-client.ts)
  'backend-process': 'main/electron/backend-process.ts'
}

const entryPoints = Object.fromEntries(Object.entries(entries).filter(([, file]) => existsSync(file)))

await build({
  ...nodeBundleOptions,
  entryPoints,
  outdir: 'out/node',
  sourcemap: true
})

// The bundles are ES modules. A packaged app unpacks out/node/ away from the root package.json and
// its "type": "module" (electron-builder.config.ts), so the folder says so itself.
writeFileSync('out/node/package.json', `${JSON.stringify({ type: 'module' })}\n`)
