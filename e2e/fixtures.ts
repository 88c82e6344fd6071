// One `studio` fixture for both hosts: the web host in Debian's Chromium, or the desktop app through
// Playwright's _electron when an Electron binary exists (skipped with the reason otherwise).
import { test as base, _electron, chromium, type Page, type TestInfo } from '@playwright/test'
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { CHROMIUM_ARGS, checkBuilt, makeDemo, repoRoot, startHost, type DemoDataset } from './harness'

export interface Studio {
  page: Page
  host: 'web' | 'electron'
  /** Opens a folder the way a user does: the path field on the home page. */
  openFolder(path: string): Promise<void>
  /** Saves a screenshot as an artifact (attached to the report and under e2e/artifacts/steps/). */
  snap(name: string): Promise<void>
}

/** The Electron executable without require('electron'), which would try to download it. */
export function electronBinary(): string | null {
  const packageDir = join(repoRoot, 'node_modules', 'electron')
  const pathFile = join(packageDir, 'path.txt')
  if (!existsSync(pathFile)) return null
  const binary = join(
    process.env.ELECTRON_OVERRIDE_DIST_PATH ?? join(packageDir, 'dist'),
    readFileSync(pathFile, 'utf8').trim()
  )
  return existsSync(binary) ? binary : null
}

export interface StudioOptions {
  /** Which host the specs drive: set per project in playwright.config.ts. */
  appHost: 'web' | 'electron'
}

export const ELECTRON_SKIP_REASON =
  'Electron binary not present (node_modules/electron/dist is missing; it cannot be downloaded here): the same specs run in Debian Chromium against the web host (project web)'

export const test = base.extend<{ studio: Studio } & StudioOptions, { demo: DemoDataset }>({
  appHost: ['web', { option: true }],
  demo: [
    async ({}, use) => {
      checkBuilt()
      const demo = makeDemo()
      await use(demo)
      rmSync(dirname(demo.root), { recursive: true, force: true })
    },
    { scope: 'worker', timeout: 180_000 }
  ],
  studio: async ({ demo, appHost }, use, testInfo) => {
    const snap = (page: Page) => async (name: string) => {
      const file = join(
        repoRoot,
        'e2e',
        'artifacts',
        'steps',
        testInfo.project.name,
        `${slug(testInfo.title).slice(0, 48)}-${name}.png`
      )
      mkdirSync(dirname(file), { recursive: true })
      await page.screenshot({ path: file })
      await testInfo.attach(name, { path: file, contentType: 'image/png' })
    }
    const openFolder = (page: Page) => async (path: string) => {
      await page.getByTestId('folder-path').fill(path)
      await page.getByTestId('open-folder').click()
      await page.getByTestId('studies-summary').waitFor()
    }

    if (appHost === 'electron') {
      const binary = electronBinary()
      testInfo.skip(!binary, ELECTRON_SKIP_REASON)
      const app = await _electron.launch({
        executablePath: binary!,
        args: [repoRoot],
        env: { ...process.env, CXR_STUDIO_WORKSPACE: demo.workspace } as Record<string, string>
      })
      const page = await app.firstWindow()
      await use({ page, host: 'electron', openFolder: openFolder(page), snap: snap(page) })
      await app.close()
      return
    }

    const host = await startHost(demo.workspace)
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS })
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } })
    const problems = collectProblems(page, testInfo)
    await page.goto(host.url)
    await use({ page, host: 'web', openFolder: openFolder(page), snap: snap(page) })
    await browser.close()
    await host.stop()
    if (problems.length) throw new Error(`the page reported problems:\n${problems.join('\n')}`)
  }
})

/** Uncaught errors and CSP violations fail the test: a console full of them is a broken app. */
function collectProblems(page: Page, _testInfo: TestInfo): string[] {
  const problems: string[] = []
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy|Uncaught/.test(message.text()))
      problems.push(`console: ${message.text()}`)
  })
  return problems
}

function slug(title: string): string {
  return title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
}

export const expect = test.expect

/** Call at the top of a spec: skips the electron project up front (before any dataset is generated). */
export function skipElectronWithoutBinary(): void {
  test.skip(({ appHost }) => appHost === 'electron' && !electronBinary(), ELECTRON_SKIP_REASON)
}
