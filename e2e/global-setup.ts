// Runs once before the suite: says up front what will be skipped and why, and that builds exist.
import type { FullConfig } from '@playwright/test'
import { ELECTRON_SKIP_REASON, electronBinary } from './fixtures'
import { checkBuilt } from './harness'

export default function globalSetup(config: FullConfig): void {
  checkBuilt()
  const electronSelected = config.projects.some((project) => project.name === 'electron')
  if (electronSelected && !electronBinary())
    process.stdout.write(`e2e: the electron project is skipped. ${ELECTRON_SKIP_REASON}.\n`)
}
