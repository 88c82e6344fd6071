// A model trained elsewhere, from the GUI: the Runs view's "Import model…" refuses a YOLOv5 export
// declared as YOLOv8 (the error next to the format), then imports the YOLOv8 fixture made by
// scripts/make-onnx-fixtures.py; the Predictions view predicts the demo's test/ split with it, the
// viewer shows its boxes and none score as predictions.json has them, and the Evaluation view shows
// the figures `cxr-studio evaluate` gives for the imported run. Screenshots of every step.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect, skipElectronWithoutBinary, test } from './fixtures'
import { isColoured, nextFrames, readCanvas, repoRoot, runCli } from './harness'

skipElectronWithoutBinary()
test.describe.configure({ timeout: 300_000 })

const FIXTURES = join(repoRoot, 'test/fixtures/onnx-import')
const RUN = 'e2e-imported-yolo'
const PREDICTION = 'e2e-imported-test'

interface PredictionsFile {
  model?: { format: string; source: string }
  images: Array<{ imageId: string; none: number; boxes: Array<{ confidence: number }> }>
}

test('an ONNX model imported from the Runs view predicts, is reviewed and evaluated like a trained run', async ({
  studio,
  demo
}) => {
  const { page } = studio
  await studio.openFolder(demo.root)
  const datasetId = /#\/d\/([0-9a-f]{16})\//.exec(page.url())![1]

  // 1. Runs view: a wrong format is refused next to the format field, nothing is made
  await page.getByTestId('nav-runs').click()
  await page.getByTestId('runs-import').click()
  await page.getByTestId('import-model-path').fill(join(FIXTURES, 'yolov5.onnx'))
  await page.getByTestId('import-format').selectOption('yolov8')
  await page.getByTestId('import-name').fill(RUN)
  await page.getByTestId('import-submit').click()
  await expect(page.getByTestId('import-error-format')).toContainText('yolov5.onnx: not a yolov8 model')
  await expect(page.getByTestId('import-error-format')).toContainText('found [1, 1600, 7]')
  await studio.snap('1-import-wrong-format')

  // 2. the right file: the run is listed as imported, with its format and source
  await page.getByTestId('import-model-path').fill(join(FIXTURES, 'yolov8.onnx'))
  await page.getByTestId('import-submit').click()
  await expect(page.getByTestId('import-dialog')).toHaveCount(0)
  const row = page.locator('tr', { hasText: RUN })
  await expect(row.locator('[data-testid^="runs-imported-"]')).toHaveText('imported')
  await expect(row).toContainText('yolov8 · yolov8.onnx · 320')
  await studio.snap('2-imported-run-listed')
  // its page: what it is, no training curves
  await row.locator('[data-testid^="runs-open-"]').click()
  await expect(page.getByTestId('dashboard-imported')).toContainText('yolov8.onnx')
  await expect(page.getByText('imported yolov8 model yolov8.onnx · 320 px')).toBeVisible()
  // nothing to resume, no epochs, samples or train.log
  await expect(page.getByText('Train more')).toHaveCount(0)
  await expect(page.getByText('Validation samples', { exact: false })).toHaveCount(0)
  await studio.snap('2b-imported-run-page')

  // 3. predict the test split with it from the Predictions view
  await page.getByTestId('nav-predictions').click()
  const runOption = page.getByTestId('predict-run').locator('option', { hasText: RUN })
  await expect(runOption).toHaveCount(1)
  await page.getByTestId('predict-run').selectOption((await runOption.getAttribute('value'))!)
  await page.getByTestId('predict-dataset').selectOption(datasetId)
  await expect(page.getByTestId('predict-scope')).toHaveValue('test')
  await page.getByTestId('predict-name').fill(PREDICTION)
  await page.getByTestId('predict-start').click()
  await expect(page.getByTestId('predict-done')).toBeVisible({ timeout: 180_000 })
  await expect(page.getByTestId(`prediction-row-${PREDICTION}`)).toContainText('imported yolov8 · yolov8.onnx')
  await studio.snap('3-predicted')

  const stored = JSON.parse(
    readFileSync(join(demo.workspace, 'predictions', PREDICTION, 'predictions.json'), 'utf8')
  ) as PredictionsFile
  expect(stored.model).toMatchObject({ format: 'yolov8', source: 'yolov8.onnx' })

  // 4. review: the first image shows the imported model's boxes and none score
  await page.getByTestId(`prediction-use-${PREDICTION}`).click()
  await expect(page.getByTestId('review-controls')).toContainText(PREDICTION)
  await page.getByTestId('image-row').first().click()
  await expect(page.getByTestId('layer-name')).toHaveText(PREDICTION)
  const imageId = decodeURIComponent(/\/view\/([^/?]+)/.exec(page.url())![1])
  const image = stored.images.find((i) => i.imageId === imageId)!
  expect(image.boxes.length).toBeGreaterThan(0)
  await expect(page.getByTestId('none-score')).toHaveAttribute('data-value', String(image.none))
  await expect(page.getByTestId('none-score')).toContainText(image.none.toFixed(3))
  const threshold = Number(await page.getByTestId('score-threshold').inputValue())
  const shown = image.boxes.filter((b) => b.confidence >= threshold).length
  const legend = page.getByTestId('review-legend')
  await expect(legend).toHaveAttribute('data-review', 'on')
  const tp = Number(await legend.getAttribute('data-tp'))
  const fp = Number(await legend.getAttribute('data-fp'))
  expect(tp + fp).toBe(shown)
  // the boxes are drawn over the image (coloured pixels; the radiograph is grey)
  await expect
    .poll(async () => {
      await nextFrames(page)
      const canvas = await readCanvas(page)
      let coloured = 0
      for (let i = 0; i < canvas.rgba.length; i += 4)
        if (isColoured([canvas.rgba[i], canvas.rgba[i + 1], canvas.rgba[i + 2]])) coloured++
      return coloured
    }, { timeout: 20_000 })
    .toBeGreaterThan(50)
  await studio.snap('4-review-imported-boxes')

  // 5. the Evaluation view gives `cxr-studio evaluate`'s figures for the imported run
  const cli = JSON.parse(
    runCli(['evaluate', join(demo.workspace, 'runs', RUN), demo.root, '--json'], demo.workspace)
  ) as { final: number | null }
  await page.getByTestId('nav-predictions').click()
  await page.getByTestId(`prediction-evaluate-${PREDICTION}`).click()
  await expect(page.getByTestId('eval-final')).toHaveText(cli.final === null ? '—' : cli.final.toFixed(4))
  await expect(page.getByText('imported yolov8 · yolov8.onnx')).toBeVisible()
  await studio.snap('5-evaluation')
})
