// Bundles the plain-Node entry points (CLI, web host, workers) into out/node/.
// Pure-JS dependencies are bundled (esbuild-node.mjs); codecs and tfjs stay external and load
// their .wasm files from node_modules.
import { build } from 'esbuild'
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
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

const entryPoints = Object.fromEntries(
  Object.entries(entries).filter(([name, file]) => name !== 'cli' && existsSync(file))
)

await build({
  ...nodeBundleOptions,
  entryPoints,
  outdir: 'out/node',
  sourcemap: true
})

// The CLI loads each command's code when that command runs (main/cli/commands/index.ts): split into
// chunks beside cli.js (same folder, so import.meta.url-relative paths stay the same). Chunks of an
// earlier build are removed first: their names change with their content.
for (const name of existsSync('out/node') ? readdirSync('out/node') : [])
  if (name.startsWith('cli-chunk-')) rmSync(join('out/node', name))
await build({
  ...nodeBundleOptions,
  entryPoints: { cli: entries.cli },
  outdir: 'out/node',
  splitting: true,
  chunkNames: 'cli-chunk-[hash]',
  sourcemap: true
})

// The bundles are ES modules. A packaged app unpacks out/node/ away from the root package.json and
// its "type": "module" (electron-builder.config.ts), so the folder says so itself.
writeFileSync('out/node/package.json', `${JSON.stringify({ type: 'module' })}\n`)
