// The one lookup of the bundled worker scripts (scripts/build-node.mjs writes them to out/node/):
// beside the running bundle (out/node/cli.js and the workers themselves), in out/node/ seen from
// another bundle (out/main/index.js, the Electron main), or from the sources (vitest runs main/ as TS).
// In a packaged app out/node/ is unpacked next to app.asar (electron-builder.config.ts), and the
// lookup answers with that real file.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const WORKER_SCRIPTS = {
  'decode-worker': 'decodes DICOM pixels for the viewer, thumbnails and training data',
  'gradient-worker': "computes half of each batch's gradients when training on two threads",
  'train-worker': 'trains a detector (one training job)',
  'predict-worker': 'runs a trained detector (prediction, evaluation, submission, backend probe)',
  'backend-process': "the desktop app's back end (an Electron utilityProcess)"
} as const

export type WorkerScript = keyof typeof WORKER_SCRIPTS

/** Where the running bundle looks; `from` and `exists` are parameters so a test can place it in a package. */
export interface ScriptLookup {
  /** URL of the module asking (the bundle it was built into). */
  from: string
  exists(path: string): boolean
}

const here: ScriptLookup = { from: import.meta.url, exists: existsSync }

export function workerScript(name: WorkerScript, lookup: ScriptLookup = here): string {
  const candidates = [`./${name}.js`, `../node/${name}.js`, `../../out/node/${name}.js`]
  for (const candidate of candidates) {
    const path = fileURLToPath(new URL(candidate, lookup.from))
    if (lookup.exists(path)) return unpackedPath(path, lookup.exists)
  }
  throw new Error(
    `the ${name} is not built (out/node/${name}.js is missing): run \`npm run build:node\``
  )
}

/**
 * `…/app.asar/out/node/x.js` → `…/app.asar.unpacked/out/node/x.js` when that file exists. Electron's
 * fs shows unpacked files through the archive path too, but a process or thread started on that
 * path would load its imports from inside app.asar, which only works where Electron's asar support
 * reaches (ES modules in utility processes and worker threads included); from the unpacked path
 * everything it loads (node_modules, .wasm) is a real file that plain Node reads.
 */
function unpackedPath(path: string, exists: (path: string) => boolean): string {
  const unpacked = path.replace(/\.asar(?=[\\/])/, '.asar.unpacked')
  return unpacked !== path && exists(unpacked) ? unpacked : path
}
