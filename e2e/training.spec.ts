// Training from the GUI, the way a user does it: a tiny run started from the Train view, charts that
// fill from the live events, a reload that re-attaches, cancel, resume, the Runs view agreeing with
// the run's results.csv, and two runs compared. The runs are real (the WASM backend, 128 px).
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Page } from '@playwright/test'
import { expect, skipElectronWithoutBinary, test } from './fixtures'
import { runCli } from './harness'

skipElectronWithoutBinary()
test.describe.configure({ timeout: 420_000 })

/** The number of points a chart draws (its container's data-points attribute). */
async function points(page: Page, testId: string): Promise<number> {
  return Number((await page.getByTestId(testId).getAttribute('data-points')) ?? 0)
}

async function waitForPoints(
  page: Page,
  testId: string,
  atLeast: number,
  timeout = 180_000
): Promise<number> {
  await expect
    .poll(() => points(page, testId), { timeout, message: `${testId} draws ${atLeast}+ points` })
    .toBeGreaterThanOrEqual(atLeast)
  return points(page, testId)
}

async function fill(page: Page, field: string, value: string): Promise<void> {
  const input = page.getByTestId(`train-field-${field}`)
  if ((await input.evaluate((el) => el.tagName)) === 'SELECT') await input.selectOption(value)
  else await input.fill(value)
}

/** The `final` column of results.csv, read here without the app. */
function finalScores(runDir: string): number[] {
  const [header, ...rows] = readFileSync(join(runDir, 'results.csv'), 'utf8').trim().split('\n')
  const column = header.split(',').indexOf('final')
  return rows.map((row) => Number(row.split(',')[column]))
}

/**
 * The final score of the best epoch by the default rule (--best-by smoothed), read from results.csv:
 * the highest `final_smoothed`, ties to the lower validation loss.
 */
function bestFinal(runDir: string): number {
  const [header, ...rows] = readFileSync(join(runDir, 'results.csv'), 'utf8').trim().split('\n')
  const names = header.split(',')
  const col = (row: string, name: string) => Number(row.split(',')[names.indexOf(name)])
  const best = rows.reduce((a, b) =>
    col(b, 'final_smoothed') > col(a, 'final_smoothed') ||
    (col(b, 'final_smoothed') === col(a, 'final_smoothed') &&
      col(b, 'val/total_loss') < col(a, 'val/total_loss'))
      ? b
      : a
  )
  return col(best, 'final')
}

test('a tiny run started from the Train view streams live charts, survives a reload, cancels, resumes and is listed with its best score', async ({
  studio,
  demo
}) => {
  const { page } = studio
  await studio.openFolder(demo.root)
  await page.getByTestId('nav-train').click()
  await expect(page.getByTestId('backend-note')).toContainText(/wasm/i, { timeout: 30_000 })

  // a bad value is named next to its field before anything starts
  await fill(studio.page, 'imageSize', '100')
  await expect(page.getByTestId('train-error-imageSize')).toContainText('multiple of 128')
  await expect(page.getByTestId('train-start')).toBeDisabled()
  await studio.snap('1-form-error')

  await fill(page, 'imageSize', '128')
  await fill(page, 'epochs', '6')
  await fill(page, 'batchSize', '4')
  await fill(page, 'valFraction', '0.3')
  await fill(page, 'backend', 'wasm')
  await fill(page, 'name', 'gui-run')
  await expect(page.getByTestId('train-error-imageSize')).toHaveCount(0)
  await expect(page.getByTestId('train-start')).toBeEnabled()
  await studio.snap('2-form')
  await page.getByTestId('train-start').click()

  // live: step points within seconds of the data being ready
  await waitForPoints(page, 'dashboard-step-chart', 2)
  await expect(page.getByTestId('dashboard-state')).toContainText(/running/i)
  await expect(page.getByTestId('dashboard-backend')).toContainText(/wasm/i)
  await studio.snap('3-live-steps')

  // a reload re-attaches: the history is drawn again and it keeps going
  const beforeReload = await points(page, 'dashboard-step-chart')
  await page.reload()
  await waitForPoints(page, 'dashboard-step-chart', beforeReload)
  await waitForPoints(page, 'dashboard-epoch-chart', 1)
  // the AP of the six classes per epoch (a class absent from the validation split has no point)
  await waitForPoints(page, 'dashboard-class-chart', 1)
  await expect(page.getByTestId('dashboard-log')).toContainText('epoch 1')
  await expect(page.getByTestId('dashboard-samples')).toBeVisible()
  await studio.snap('4-after-reload')

  // cancel: stops after the step, checkpoint written
  await page.getByTestId('dashboard-cancel').click()
  await expect(page.getByTestId('dashboard-state')).toContainText(/cancelled/i, { timeout: 120_000 })
  await studio.snap('5-cancelled')
  const runDir = join(demo.workspace, 'runs', 'gui-run')
  expect(readdirSync(join(runDir, 'checkpoints'))).toContain('last')
  const epochsAtCancel = finalScores(runDir).length
  expect(epochsAtCancel).toBeLessThan(6)

  // resume: it continues from checkpoints/last to the sixth epoch
  await page.getByTestId('dashboard-resume').click()
  await expect(page.getByTestId('dashboard-state')).toContainText(/completed/i, { timeout: 300_000 })
  await expect(page.getByTestId('toast')).toContainText(/gui-run/)
  await studio.snap('6-completed')
  const finals = finalScores(runDir)
  expect(finals).toHaveLength(6)

  // the Runs view lists it with the best epoch's score of its results.csv (the smoothed rule's pick)
  await page.getByTestId('nav-runs').click()
  const row = page.getByTestId('runs-table').locator('tr', { hasText: 'gui-run' })
  await expect(row).toContainText(/completed/i)
  await expect(row).toContainText(bestFinal(runDir).toFixed(3))
  await studio.snap('7-runs')

  // the run folder is the CLI's: `cxr-studio submit` works on it
  const submission = join(demo.workspace, 'gui-run-submission.csv')
  runCli(['submit', runDir, demo.root, '--out', submission], demo.workspace)
  expect(readFileSync(submission, 'utf8').split('\n')[0]).toBe('id,PredictionString')
})

test('two runs made by the CLI are compared in the Runs view: overlaid curves and a config diff', async ({
  studio,
  demo
}) => {
  const { page } = studio
  for (const [name, lr] of [
    ['cli-lr-a', '0.01'],
    ['cli-lr-b', '0.003']
  ]) {
    runCli(
      [
        'train',
        demo.root,
        '--out',
        join(demo.workspace, 'runs', name),
        '--image-size',
        '128',
        '--width-multiplier',
        '0.25',
        '--depth-multiplier',
        '0.25',
        '--epochs',
        '2',
        '--batch-size',
        '4',
        '--val-fraction',
        '0.3',
        '--lr',
        lr
      ],
      demo.workspace
    )
  }
  await page.goto(new URL('#/runs', page.url()).href)
  const table = page.getByTestId('runs-table')
  for (const name of ['cli-lr-a', 'cli-lr-b']) {
    const row = table.locator('tr', { hasText: name })
    await expect(row).toContainText(/completed/i)
    await row.locator('input[type=checkbox]').check()
  }
  await page.getByTestId('runs-compare').click()
  await expect(page.getByTestId('compare-config-diff')).toContainText('lr')
  await expect(page.getByTestId('compare-config-diff')).toContainText('0.003')
  await waitForPoints(page, 'compare-chart', 4)
  await studio.snap('compare')
})
