// The one lookup of the bundled worker scripts (scripts/build-node.mjs writes them to out/node/):
// beside the running bundle (out/node/cli.js and the workers themselves), in out/node/ seen from
// another bundle (out/main/index.js, the Electron main), or from the sources (vitest runs main/ as TS).
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

export function workerScript(name: WorkerScript): string {
  const candidates = [`./${name}.js`, `../node/${name}.js`, `../../out/node/${name}.js`]
  for (const candidate of candidates) {
    const path = fileURLToPath(new URL(candidate, import.meta.url))
    if (existsSync(path)) return path
  }
  throw new Error(
    `the ${name} is not built (out/node/${name}.js is missing): run \`npm run build:node\``
  )
}
