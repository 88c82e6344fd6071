// The viewer benchmark: not a test, a measurement through the e2e harness. `npm run bench:viewer`
// (after `npm run build:node && npx electron-vite build`); figures go to bench-results/viewer.json.
import { defineConfig } from '@playwright/test'

export default defineConfig({
  testDir: '.',
  testMatch: '*.bench.ts',
  outputDir: '../artifacts/bench',
  timeout: 600_000,
  workers: 1,
  reporter: 'list'
})
