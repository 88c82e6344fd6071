// GUI defects a new user met (issue "Predictions you can review", Why): each checked the way the user
// saw it, in Chromium against the web host. Figures are checked against the CLI where it has them.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, skipElectronWithoutBinary, test, type Studio } from './fixtures'
import { BROKEN_IMAGE_ID, nextFrames, runCli, type DemoDataset } from './harness'

skipElectronWithoutBinary()

const scratch: string[] = []
test.afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true })
})

/**
 * A copy of the demo (the shared one is never changed) with broken files outside the Kaggle layout,
 * a truncated DICOM with a long reason, and without the test split's truth files.
 */
function brokenCopy(demo: DemoDataset): string {
  const base = mkdtempSync(join(tmpdir(), 'cxr-defects-'))
  scratch.push(base)
  const root = join(base, 'copy')
  cpSync(demo.root, root, { recursive: true })
  rmSync(join(root, 'test_study_level.csv'))
  rmSync(join(root, 'test_image_level.csv'))
  writeFileSync(join(root, 'stray.dcm'), 'not a dicom')
  mkdirSync(join(root, 'scans', 'a'), { recursive: true })
  writeFileSync(join(root, 'scans', 'a', 'other.dcm'), 'not a dicom either')
  // uncompressed, so the header read already finds the pixel data cut short
  const native = demo.images.find(
    (image) => (image as unknown as { transferSyntaxUid: string }).transferSyntaxUid === '1.2.840.10008.1.2.1'
  )!
  const whole = readFileSync(join(root, native.path))
  mkdirSync(join(root, 'scans', 'b'), { recursive: true })
  writeFileSync(join(root, 'scans', 'b', 'truncated.dcm'), whole.subarray(0, 3000))
  return root
}

async function openViewer(studio: Studio, imageId: string): Promise<void> {
  const { page } = studio
  await page.getByTestId('nav-studies').click()
  await page.getByTestId('search').fill(imageId)
  await page.locator(`[data-testid=image-row][data-image-id="${imageId}"]`).click()
  await expect(page.getByTestId('corner-tl')).toContainText(imageId)
  await nextFrames(page)
}

const row = (studio: Studio, imageId: string) =>
  studio.page.locator(`[data-testid=image-row][data-image-id="${imageId}"]`)

test('preset 1 says "File VOI" only on a file that has a window; otherwise it says it is Auto', async ({
  studio,
  demo
}) => {
  const windowOf = (image: (typeof demo.images)[number]) =>
    (image as unknown as { windowCenter: number[] | null }).windowCenter
  const withoutVoi = demo.images.find((image) => image.path.startsWith('train/') && !windowOf(image))!
  const withVoi = demo.images.find((image) => image.path.startsWith('train/') && windowOf(image))!
  await studio.openFolder(demo.root)

  await openViewer(studio, withoutVoi.imageId)
  await expect(studio.page.getByTestId('corner-wl')).toContainText('Auto (no VOI in file)')
  await expect(studio.page.getByTestId('corner-wl')).not.toContainText('File VOI')
  await expect(studio.page.getByTestId('preset-1')).toHaveText('Auto (no VOI in file)')
  await studio.snap('1-no-voi')

  await openViewer(studio, withVoi.imageId)
  await expect(studio.page.getByTestId('corner-wl')).toContainText('File VOI')
  await expect(studio.page.getByTestId('preset-1')).toHaveText('File VOI')
  await studio.snap('2-file-voi')
})

test('a folder without DICOM files is refused with its name on the home page and stays out of Recent', async ({
  studio
}) => {
  const { page } = studio
  const folder = mkdtempSync(join(tmpdir(), 'cxr-no-dicom-'))
  scratch.push(folder)
  writeFileSync(join(folder, 'hostname'), 'a text file\n')
  writeFileSync(join(folder, 'README.txt'), 'no images here\n')

  await page.getByTestId('folder-path').fill(folder)
  await page.getByTestId('open-folder').click()
  await expect(page.getByTestId('home-error')).toContainText(`no DICOM files found in ${folder}`)
  await expect(page.getByTestId('home-error')).toContainText('looked at 1 file')
  await expect(page.getByTestId('studies-summary')).toHaveCount(0)
  await studio.snap('1-refused')

  await page.reload()
  await expect(page.getByTestId('open-demo')).toBeVisible()
  await expect(page.getByTestId('recent').filter({ hasText: folder })).toHaveCount(0)
})

test('unreadable files are rows of their own, labelled unreadable with the reason cut to the column', async ({
  studio,
  demo
}) => {
  const { page } = studio
  await studio.openFolder(brokenCopy(demo))
  await page.getByTestId('filter-flags').selectOption('flagged')

  // outside the Kaggle layout: no study, so no shared blank study and no image count
  for (const imageId of ['stray', 'other', 'truncated']) {
    await expect(row(studio, imageId).getByTestId('study-images')).toHaveText('–')
    await expect(row(studio, imageId)).toContainText('no study')
    await expect(row(studio, imageId).getByTestId('unreadable')).toHaveText('unreadable')
    await expect(row(studio, imageId)).not.toContainText('excluded by')
  }
  // in the Kaggle layout: its study from the path, counted in none
  const broken = row(studio, BROKEN_IMAGE_ID)
  await expect(broken.getByTestId('unreadable')).toBeVisible()
  await expect(broken.getByTestId('study-images')).toHaveText('–')
  await expect(broken).not.toContainText('excluded by')
  await studio.snap('1-unreadable-rows')

  const reason = row(studio, 'truncated').getByTestId('row-error')
  const full = await reason.getAttribute('title')
  expect(full).toMatch(/^truncated file: /)
  await expect(reason).toHaveText(full!)
  const fits = await reason.evaluate((el) => {
    const cell = el.closest('[data-testid=row-quality]')!.getBoundingClientRect()
    const box = el.getBoundingClientRect()
    return { clipped: el.scrollWidth > el.clientWidth, inside: box.right <= cell.right + 0.5 }
  })
  expect(fits).toEqual({ clipped: true, inside: true })

  // the readable images of the broken file's study count only themselves
  const studyId = (await broken.locator('.c-study .mono').textContent())!.trim()
  const siblings = demo.images.filter((image) => image.studyId === studyId)
  await page.getByTestId('filter-flags').selectOption('all')
  await page.getByTestId('search').fill(studyId)
  await expect(row(studio, siblings[0].imageId).getByTestId('study-images')).toHaveText(
    String(siblings.length)
  )
})

test('test images show their held-out truth, or say the truth is not in the train CSVs', async ({
  studio,
  demo
}) => {
  const { page } = studio
  const truthCsv = readFileSync(join(demo.root, 'test_image_level.csv'), 'utf8')
  const boxed = demo.images.find((image) => {
    const line = truthCsv.split('\n').find((l) => l.startsWith(`${image.imageId}_image,`))
    return image.path.startsWith('test/') && line?.includes('opacity')
  })!
  const boxes = (
    truthCsv
      .split('\n')
      .find((l) => l.startsWith(`${boxed.imageId}_image,`))!
      .match(/'x':/g) ?? []
  ).length

  await studio.openFolder(demo.root)
  await openViewer(studio, boxed.imageId)
  await expect(page.getByTestId('truth-source')).toContainText('test_image_level.csv')
  await expect(page.locator('.boxes li')).toHaveCount(boxes)
  await expect(page.getByText('no row in train_image_level.csv')).toHaveCount(0)
  await studio.snap('1-test-truth')

  await page.goto(page.url().split('#')[0] + '#/')
  await studio.openFolder(brokenCopy(demo))
  await openViewer(studio, boxed.imageId)
  await expect(page.getByTestId('truth-note')).toHaveText('test split — truth not in the train CSVs')
  await studio.snap('2-no-test-truth')
})

test('the quality summary counts what its lists show, and the studies list flags the same images', async ({
  studio,
  demo
}) => {
  const { page } = studio
  const cli = JSON.parse(runCli(['quality', demo.root, '--json'], demo.workspace)) as {
    issues: Array<{ rule: string; imageId?: string; path?: string }>
    counts: Record<string, number>
    pixelCheck: { identicalGroups: number }
  }
  const flaggedImages = new Set(cli.issues.flatMap((issue) => issue.path ?? issue.imageId ?? [])).size

  await studio.openFolder(demo.root)
  await page.getByTestId('nav-data').click()
  const summary = page.getByTestId('pixel-summary')
  await expect(summary).toContainText('pixel check:', { timeout: 60_000 })
  const pixelImages = cli.counts['pixel-identical']
  await expect(summary).toContainText(
    `${pixelImages} images in ${cli.pixelCheck.identicalGroups} group(s) of identical pixels`
  )
  await expect(page.getByTestId('rule-pixel-identical').locator('.count')).toHaveText(String(pixelImages))
  await expect(page.getByTestId('quality-flagged-images')).toHaveText(`${flaggedImages} images`)
  await page.getByTestId('quality-summary').scrollIntoViewIfNeeded()
  await studio.snap('1-quality-summary')

  await page.getByTestId('quality-flagged-images').click()
  await expect(page.getByTestId('count-flagged')).toHaveText(String(flaggedImages))
  await expect(page.getByTestId('shown-count')).toContainText(`${flaggedImages} of`)
  // the pixel twins are flagged in the list too, not only on the Data page
  const twin = demo.duplicates[0].duplicateImageId
  await expect(row(studio, twin)).toContainText('pixel-identical')
  await studio.snap('2-flagged-studies')
})
