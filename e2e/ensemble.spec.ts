// Ensembles from the GUI, the way a user makes one: two tiny runs (made by the CLI in the setup) are
// selected in the Runs view, "Ensemble…" gives them weights and a name, the ensemble is listed as a
// run of kind ensemble, the Predictions view predicts the demo's test/ split with it, and the
// Evaluation view shows the figures `cxr-studio evaluate` gives the same ensemble. Then a COCO export
// from the Export view lists its training recipes with copy buttons. Screenshots of every step.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect, skipElectronWithoutBinary, test } from './fixtures'
import { runCli } from './harness'

skipElectronWithoutBinary()
test.describe.configure({ timeout: 600_000 })

const ENSEMBLE = 'e2e-ensemble'
const PREDICTION = 'e2e-ensemble-test'
const fixed = (value: number | null) => (value === null ? '—' : value.toFixed(4))

test('two runs make an ensemble in the Runs view that predicts and evaluates like a run; a COCO export lists its recipes', async ({
  studio,
  demo
}) => {
  const { page } = studio
  const runs = ['e2e-member-a', 'e2e-member-b']
  runs.forEach((name, i) =>
    runCli(
      [
        'train',
        demo.root,
        '--out',
        join(demo.workspace, 'runs', name),
        '--image-size',
        '128',
        '--epochs',
        '1',
        '--width-multiplier',
        '0.25',
        '--depth-multiplier',
        '0.25',
        '--backend',
        'wasm',
        '--batch-size',
        '4',
        '--val-fraction',
        '0.3',
        '--seed',
        String(i + 1)
      ],
      demo.workspace
    )
  )
  await studio.openFolder(demo.root)
  const datasetId = /#\/d\/([0-9a-f]{16})\//.exec(page.url())![1]

  // 1. select both runs, Ensemble…, weights 2 and 1
  await page.getByTestId('nav-runs').click()
  for (const name of runs) {
    const row = page.locator('tr', { has: page.getByRole('link', { name, exact: true }) })
    await row.getByRole('checkbox').check()
  }
  await page.getByTestId('runs-ensemble').click()
  await expect(page.getByTestId('ensemble-dialog')).toBeVisible()
  const weightOf = (name: string) => page.getByRole('textbox', { name: `Weight of ${name}`, exact: true })
  await weightOf('e2e-member-a').fill('2')
  await page.getByTestId('ensemble-name').fill(ENSEMBLE)
  await weightOf('e2e-member-b').fill('0')
  await expect(page.getByTestId('ensemble-problem')).toContainText('weight of e2e-member-b')
  await expect(page.getByTestId('ensemble-create')).toBeDisabled()
  await weightOf('e2e-member-b').fill('1')
  await studio.snap('1-ensemble-dialog')
  await page.getByTestId('ensemble-create').click()
  const row = page.locator('tr', { has: page.getByRole('link', { name: ENSEMBLE, exact: true }) })
  await expect(row).toBeVisible()
  await expect(row).toContainText('ensemble')
  await expect(row).toContainText(/e2e-member-a ×2, e2e-member-b ×1|e2e-member-b ×1, e2e-member-a ×2/)
  await expect(row).toHaveAttribute('data-state', 'completed')
  const ensembleDir = join(demo.workspace, 'runs', ENSEMBLE)
  const config = JSON.parse(readFileSync(join(ensembleDir, 'config.json'), 'utf8'))
  expect(config.kind).toBe('ensemble')
  expect(
    Object.fromEntries(config.members.map((m: { name: string; weight: number }) => [m.name, m.weight]))
  ).toEqual({
    'e2e-member-a': 2,
    'e2e-member-b': 1
  })
  await studio.snap('2-ensemble-listed')

  // 2. the Predictions view predicts test/ with the ensemble
  await page.getByTestId('nav-predictions').click()
  const runOption = page.getByTestId('predict-run').locator('option', { hasText: ENSEMBLE })
  await expect(runOption).toHaveCount(1)
  await page.getByTestId('predict-run').selectOption((await runOption.getAttribute('value'))!)
  await page.getByTestId('predict-dataset').selectOption(datasetId)
  await expect(page.getByTestId('predict-scope')).toHaveValue('test')
  await page.getByTestId('predict-name').fill(PREDICTION)
  await page.getByTestId('predict-start').click()
  await expect(page.getByTestId('predict-done')).toBeVisible({ timeout: 300_000 })
  await expect(page.getByTestId(`prediction-row-${PREDICTION}`)).toBeVisible()
  await studio.snap('3-ensemble-predicted')
  const stored = JSON.parse(
    readFileSync(join(demo.workspace, 'predictions', PREDICTION, 'predictions.json'), 'utf8')
  )
  expect(stored.ensemble.members.map((m: { name: string }) => m.name).sort()).toEqual(runs)

  // 3. the Evaluation view shows what `cxr-studio evaluate` says of the same ensemble
  const cli = JSON.parse(runCli(['evaluate', ensembleDir, demo.root, '--json'], demo.workspace)) as {
    final: number | null
    ap: Record<string, number | null>
  }
  expect(cli.final).not.toBeNull()
  await page.getByTestId(`prediction-evaluate-${PREDICTION}`).click()
  await expect(page.getByTestId('eval-final')).toHaveText(fixed(cli.final))
  for (const cls of ['negative', 'typical', 'indeterminate', 'atypical', 'opacity', 'none'])
    await expect(page.getByTestId(`eval-ap-${cls}`)).toHaveText(fixed(cli.ap[cls]))
  await studio.snap('4-ensemble-evaluation')

  // 4. a COCO export lists its recipes; Copy puts a command on the clipboard
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'])
  await page.getByTestId('nav-export').click()
  await page.getByTestId('export-format-coco').click()
  const out = join(demo.workspace, 'exports', 'e2e-recipes')
  await page.getByTestId('export-out').fill(out)
  await expect(page.getByTestId('export-out-check')).toContainText('free')
  await page.getByTestId('export-start').click()
  await expect(page.getByTestId('export-recipes')).toBeVisible({ timeout: 120_000 })
  await expect(page.getByTestId('recipe-command-1')).toContainText(
    `torchrun --nproc_per_node=4 ${join(out, 'train_torchvision.py')}`
  )
  expect(existsSync(join(out, 'train_torchvision.py'))).toBe(true)
  expect(readFileSync(join(out, 'README.md'), 'utf8')).toContain(
    `cxr-studio import-model ${join(out, 'torchvision', 'model.onnx')}`
  )
  await page.getByTestId('copy-recipe-2').click()
  await expect(page.getByTestId('copy-recipe-2')).toHaveText('Copied')
  const copied = await page.evaluate<string>('navigator.clipboard.readText()')
  expect(copied).toBe(await page.getByTestId('recipe-command-2').textContent())
  expect(copied).toMatch(/^cxr-studio import-model .* --format torchvision/)
  await studio.snap('5-export-recipes')
})
