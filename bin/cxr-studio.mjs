#!/usr/bin/env node
// Entry point of the `cxr-studio` command: runs the bundled CLI built by `npm install` (prepare).
import { existsSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'

const cli = fileURLToPath(new URL('../out/node/cli.js', import.meta.url))
if (!existsSync(cli)) {
  console.error('cxr-studio: the CLI is not built yet; run `npm run build:node` (npm install does it).')
  process.exit(1)
}
await import(pathToFileURL(cli).href)
