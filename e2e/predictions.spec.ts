// Prediction review from the GUI, the way a new user goes through it: a tiny run (made by the CLI in
// the setup) predicts the demo's test/ split from the Predictions view, the misses come first in the
// studies list, the viewer colours boxes TP/FP/FN, the Evaluation view's figures equal
// `cxr-studio evaluate`, a submission exported from the GUI passes `validate-submission` and scores
// the GUI's figure, and the GUI's COCO export equals the CLI's. Screenshots of every step.
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { Page } from '@playwright/test'
import { expect, skipElectronWithoutBinary, test } from './fixtures'
import { isColoured, nextFrames, readCanvas, runCli } from './harness'

skipElectronWithoutBinary()
test.describe.configure({ timeout: 600_000 })

const PREDICTION = 'e2e-test-split'
const SCORED = ['negative', 'typical', 'indeterminate', 'atypical', 'opacity', 'none'] as const
/** REVIEW_COLORS.fn of the renderer: a missed truth box. */
const MISSED_RGB = [0xff, 0xe1, 0x4d]

interface Figures {
  ap: Record<(typeof SCORED)[number], number | null>
  final: number | null
}

const fixed = (value: number | null) => (value === null ? '—' : value.toFixed(4))

/** Truth boxes per test image, read from test_image_level.csv here, without the app. */
function testTruth(root: string): Map<string, number> {
  const counts = new Map<string, number>()
  for (const line of readFileSync(join(root, 'test_image_level.csv'), 'utf8').split('\n').slice(1)) {
    const id = /^([0-9a-f]+)_image,/.exec(line)?.[1]
    if (id) counts.set(id, (line.match(/\{'x':/g) ?? []).length)
  }
  return counts
}

async function attr(page: Page, testId: string, name: string): Promise<string> {
  return (await page.getByTestId(testId).getAttribute(name)) ?? ''
}

/** Canvas pixels close to a colour (the overlay draws it; image pixels are grey). */
async function pixelsNear(page: Page, rgb: number[]): Promise<number> {
  const canvas = await readCanvas(page)
  let count = 0
  for (let i = 0; i < canvas.rgba.length; i += 4) {
    const px: [number, number, number] = [canvas.rgba[i], canvas.rgba[i + 1], canvas.rgba[i + 2]]
    if (isColoured(px) && px.every((v, c) => Math.abs(v - rgb[c]) < 40)) count++
  }
  return count
}

/** COCO JSON without the creation date, which differs between two exports of the same data. */
function cocoWithoutDate(file: string): unknown {
  const coco = JSON.parse(readFileSync(file, 'utf8')) as { info?: Record<string, unknown> }
  if (coco.info) delete coco.info.date_created
  return coco
}

test('a run predicts the test split from the GUI; misses first, TP/FP/FN boxes, the CLI figures, a valid submission and the CLI COCO', async ({
  studio,
  demo
}) => {
  const { page } = studio
  const base = dirname(demo.root)
  const runDir = join(demo.workspace, 'runs', 'e2e-predict-run')
  runCli(
    [
      'train',
      demo.root,
      '--out',
      runDir,
      '--image-size',
      '128',
      '--epochs',
      '2',
      '--batch-size',
      '4',
      '--val-fraction',
      '0.3'
    ],
    demo.workspace
  )
  await studio.openFolder(demo.root)
  const datasetId = /#\/d\/([0-9a-f]{16})\//.exec(page.url())![1]

  // 1. predict test/ with the run
  await page.getByTestId('nav-predictions').click()
  const runOption = page.getByTestId('predict-run').locator('option', { hasText: 'e2e-predict-run' })
  await expect(runOption).toHaveCount(1)
  await page.getByTestId('predict-run').selectOption((await runOption.getAttribute('value'))!)
  await page.getByTestId('predict-dataset').selectOption(datasetId)
  await expect(page.getByTestId('predict-scope')).toHaveValue('test')
  await page.getByTestId('predict-name').fill(PREDICTION)
  await studio.snap('1-new-prediction')
  await page.getByTestId('predict-start').click()
  await expect(page.getByTestId('predict-done')).toBeVisible({ timeout: 300_000 })
  await expect(page.getByTestId(`prediction-row-${PREDICTION}`)).toBeVisible()
  await studio.snap('2-predicted')

  // 2. one click: the viewer's layer, the studies list with the misses first
  await page.getByTestId(`prediction-use-${PREDICTION}`).click()
  await expect(page.getByTestId('review-controls')).toContainText(PREDICTION)
  await expect(page.getByTestId('sort-disagreement')).toHaveClass(/on/)
  await expect(page.getByTestId('filter-split')).toHaveValue('test')
  const cells = page.getByTestId('review-cell')
  await expect(cells.first()).toBeVisible()
  const errors = await cells.evaluateAll((list) =>
    list.map((cell) => Number(cell.getAttribute('data-fp') || 0) + Number(cell.getAttribute('data-fn') || 0))
  )
  expect(errors).toEqual([...errors].sort((a, b) => b - a))
  await studio.snap('3-studies-misses-first')

  // 3. the first image: its boxes marked against the truth, the counts add up to its truth boxes
  const truth = testTruth(demo.root)
  await page.getByTestId('image-row').first().click()
  await expect(page.getByTestId('layer-name')).toHaveText(PREDICTION)
  await expect(page.getByTestId('review-legend')).toHaveAttribute('data-review', 'on')
  await expect(page.getByTestId('none-score')).not.toHaveAttribute('data-value', '')
  const imageId = decodeURIComponent(/\/view\/([^/?]+)/.exec(page.url())![1])
  const [tp, fn] = [
    Number(await attr(page, 'review-legend', 'data-tp')),
    Number(await attr(page, 'review-legend', 'data-fn'))
  ]
  expect(tp + fn).toBe(truth.get(imageId))
  await expect(page.getByTestId('study-probs')).toHaveAttribute(
    'data-truth',
    /negative|typical|indeterminate|atypical/
  )
  await nextFrames(page)
  if (fn > 0) expect(await pixelsNear(page, MISSED_RGB)).toBeGreaterThan(20)
  await studio.snap('4-viewer-review')
  // moving on keeps the layer named
  await page.getByTestId('next').click()
  await expect(page.getByTestId('layer-name')).toHaveText(PREDICTION)
  await expect(page.getByTestId('layer-source')).toContainText(PREDICTION)

  // 4. the Evaluation view says what `cxr-studio evaluate` says
  const cli = JSON.parse(runCli(['evaluate', runDir, demo.root, '--json'], demo.workspace)) as Figures
  await page.getByTestId('nav-predictions').click()
  await page.getByTestId(`prediction-evaluate-${PREDICTION}`).click()
  await expect(page.getByTestId('eval-final')).toHaveText(fixed(cli.final))
  for (const cls of SCORED) await expect(page.getByTestId(`eval-ap-${cls}`)).toHaveText(fixed(cli.ap[cls]))
  await expect(page.getByTestId('eval-truth')).toContainText('test_image_level.csv')
  await expect(page.getByTestId('eval-chart-pr').locator('canvas').first()).toBeVisible()
  await expect(page.getByTestId('eval-chart-confusion').locator('canvas').first()).toBeVisible()
  await page.getByTestId('eval-threshold').fill('0.5')
  await expect(page.getByTestId('eval-threshold-value')).toHaveText('0.50')
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByTestId('eval-chart-pr').getByTestId('chart-png').click()
  ])
  expect(download.suggestedFilename()).toBe(`${PREDICTION}-pr-curves.png`)
  const png = readFileSync((await download.path())!)
  expect(png.subarray(1, 4).toString()).toBe('PNG')
  await studio.snap('5-evaluation')
  const guiFinal = await page.getByTestId('eval-final').textContent()

  // 5. a submission from the GUI: valid, and it scores the GUI's figure
  await page.getByTestId('nav-export').click()
  await page.getByTestId('export-format-submission').click()
  await page.getByTestId('export-prediction').selectOption(PREDICTION)
  const submission = join(base, 'gui-submission.csv')
  await page.getByTestId('export-out').fill(submission)
  await expect(page.getByTestId('export-out-check')).toContainText('free')
  await page.getByTestId('export-start').click()
  await expect(page.getByTestId('export-result')).toContainText(submission, { timeout: 120_000 })
  await studio.snap('6-submission')
  const validation = JSON.parse(
    runCli(
      [
        'validate-submission',
        submission,
        '--sample',
        join(demo.root, 'sample_submission.csv'),
        '--dataset',
        demo.root,
        '--json'
      ],
      demo.workspace
    )
  ) as { valid: boolean }
  expect(validation.valid).toBe(true)
  const scored = JSON.parse(
    runCli(['score', demo.root, '--submission', submission, '--truth', 'test', '--json'], demo.workspace)
  ) as Figures
  expect(fixed(scored.final)).toBe(guiFinal)
  // never replaced without asking
  await page.getByTestId('export-start').click()
  await expect(page.getByTestId('export-overwrite-confirm')).toBeVisible()
  await studio.snap('7-overwrite-asked')
  await page.getByTestId('export-overwrite-confirm').click()
  await expect(page.getByTestId('export-state')).toHaveText('done', { timeout: 120_000 })

  // 6. the GUI's COCO export equals the CLI's (the same defaults)
  await page.getByTestId('export-format-coco').click()
  const guiCoco = join(base, 'gui-coco')
  await page.getByTestId('export-out').fill(guiCoco)
  await expect(page.getByTestId('export-out-check')).toContainText('free')
  await page.getByTestId('export-start').click()
  await expect(page.getByTestId('export-result')).toContainText(guiCoco, { timeout: 120_000 })
  await studio.snap('8-coco')
  const cliCoco = join(base, 'cli-coco')
  runCli(['coco', demo.root, '--out', cliCoco], demo.workspace)
  for (const file of ['train.json', 'val.json'])
    expect(cocoWithoutDate(join(guiCoco, file))).toEqual(cocoWithoutDate(join(cliCoco, file)))
})

test('a submission CSV with malformed rows is loaded with its rows reported by line, and stays named between images', async ({
  studio,
  demo
}) => {
  const { page } = studio
  const ids = [...testTruth(demo.root).keys()]
  const csv = join(demo.workspace, 'broken-submission.csv')
  writeFileSync(
    csv,
    [
      'id,PredictionString',
      `${ids[0]}_image,opacity 0.9 10 10 60 60 none 0.1 0 0 1 1`,
      `${ids[1]}_image,opacity 0.8 10 10 oops`,
      'no comma on this line',
      ''
    ].join('\n')
  )
  await studio.openFolder(demo.root)
  await page.getByTestId('filter-split').selectOption('test')
  await page.getByTestId('search').fill(ids[0])
  await page.getByTestId('image-row').first().click()
  await page.getByTestId('predictions-path').fill(csv)
  await page.getByTestId('predictions-load').click()
  await expect(page.getByTestId('layer-name')).toHaveText('broken-submission.csv')
  // the image on screen gets its boxes at once (its good row), the reload too
  await expect(page.getByTestId('review-legend')).toHaveAttribute('data-shown', '1')
  await page.reload()
  await expect(page.getByTestId('layer-name')).toHaveText('broken-submission.csv')
  await expect(page.getByTestId('review-legend')).toHaveAttribute('data-shown', '1')
  await expect(page.getByTestId('layer-row-errors')).toHaveAttribute('data-count', '2')
  await expect(page.getByTestId('layer-row-errors')).toContainText('line 3')
  await expect(page.getByTestId('layer-row-errors')).toContainText('line 4')
  await studio.snap('1-row-errors')
  await page.getByTestId('next').click()
  await expect(page.getByTestId('layer-name')).toHaveText('broken-submission.csv')
  await expect(page.getByTestId('layer-row-errors')).toHaveAttribute('data-count', '2')
})
