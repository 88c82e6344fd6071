// Bundles the plain-Node entry points (CLI, web host, workers) into out/node/.
// Pure-JS dependencies are bundled (esbuild-node.mjs); codecs and tfjs stay external and load
// their .wasm files from node_modules.
import { build } from 'esbuild'
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { basename, join } from 'node:path'
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
// chunks beside cli.js (same folder, so import.meta.url-relative paths stay the same). A CLI started
// while this runs (tests, another terminal) must find every chunk its cli.js names: new chunks are
// written first, cli.js is then replaced by a rename, and chunks no longer named are removed last.
const cli = await build({
  ...nodeBundleOptions,
  entryPoints: { cli: entries.cli },
  outdir: 'out/node',
  splitting: true,
  chunkNames: 'cli-chunk-[hash]',
  sourcemap: true,
  write: false
})
mkdirSync('out/node', { recursive: true })
const isEntry = (path) => /[\\/]cli\.js(\.map)?$/.test(path)
for (const file of cli.outputFiles.filter((f) => !isEntry(f.path))) writeFileSync(file.path, file.contents)
for (const file of cli.outputFiles.filter((f) => isEntry(f.path))) {
  writeFileSync(`${file.path}.tmp`, file.contents)
  renameSync(`${file.path}.tmp`, file.path)
}
const written = new Set(cli.outputFiles.map((f) => basename(f.path)))
for (const name of readdirSync('out/node'))
  if (name.startsWith('cli-chunk-') && !written.has(name)) rmSync(join('out/node', name), { force: true })

// The bundles are ES modules. A packaged app unpacks out/node/ away from the root package.json and
// its "type": "module" (electron-builder.config.ts), so the folder says so itself.
writeFileSync('out/node/package.json', `${JSON.stringify({ type: 'module' })}\n`)
