// End-to-end suite: the real renderer against the web host in Debian's Chromium, and the same specs
// through Playwright's _electron where an Electron binary exists. Build first:
// `npm run build:node && npx electron-vite build`.
import { defineConfig } from '@playwright/test'
import type { StudioOptions } from './e2e/fixtures'

export default defineConfig<StudioOptions>({
  testDir: 'e2e',
  testMatch: '*.spec.ts',
  globalSetup: './e2e/global-setup.ts',
  outputDir: 'e2e/artifacts/results',
  timeout: 120_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  reporter: [['list'], ['html', { outputFolder: 'e2e/artifacts/report', open: 'never' }]],
  use: { trace: 'retain-on-failure', screenshot: 'only-on-failure' },
  projects: [
    { name: 'web', use: { appHost: 'web' } },
    { name: 'electron', use: { appHost: 'electron' } }
  ]
})
