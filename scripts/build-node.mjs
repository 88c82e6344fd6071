// Bundles the plain-Node entry points (CLI, web host, workers) into out/node/.
// Dependencies stay external: codecs and tfjs load their .wasm files from node_modules.
import { build } from 'esbuild'
import { existsSync } from 'node:fs'

const entries = {
  cli: 'main/cli/index.ts',
  'decode-worker': 'main/workers/decode-worker.ts'
}

const entryPoints = Object.fromEntries(Object.entries(entries).filter(([, file]) => existsSync(file)))

await build({
  entryPoints,
  outdir: 'out/node',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
  banner: {
    // Bundled ESM still needs require() for the CommonJS codec builds.
    js: "import { createRequire as __cxrCreateRequire } from 'node:module'; const require = __cxrCreateRequire(import.meta.url);"
  }
})
