// The walk through CXR Studio: open a dataset, browse, view, window, navigate, read the data
// page. Counts are checked against `cxr-studio eda --json`, pixels against `cxr-studio decode --display`.
import { expect, skipElectronWithoutBinary, test, type Studio } from './fixtures'
import {
  BROKEN_IMAGE_ID,
  cliDisplayImage,
  fitGeometry,
  isColoured,
  meanGrey,
  nextFrames,
  pixel,
  readCanvas,
  type CanvasPixels,
  type DemoDataset
} from './harness'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'

skipElectronWithoutBinary()

async function openImage(studio: Studio, imageId: string): Promise<void> {
  const { page } = studio
  await page.getByTestId('nav-studies').click()
  await page.getByTestId('search').fill(imageId)
  await page.locator(`[data-testid=image-row][data-image-id="${imageId}"]`).click()
  await waitForImage(studio, imageId)
}

async function waitForImage({ page }: Studio, imageId: string): Promise<void> {
  await expect(page.getByTestId('corner-tl')).toContainText(imageId)
  await expect(page.getByTestId('shown-ms')).toBeVisible()
  await nextFrames(page)
}

/** Mean absolute difference between the canvas and the CLI's display image, over blocks of the image. */
function windowingError(
  canvas: CanvasPixels,
  display: { width: number; height: number; grey: Uint8Array }
): number {
  const fit = fitGeometry(canvas, { columns: display.width, rows: display.height })
  const blocks = 10
  let total = 0
  for (let by = 1; by < blocks - 1; by++) {
    for (let bx = 1; bx < blocks - 1; bx++) {
      let expected = 0
      let n = 0
      const x0 = Math.floor((bx * display.width) / blocks)
      const y0 = Math.floor((by * display.height) / blocks)
      const x1 = Math.floor(((bx + 1) * display.width) / blocks)
      const y1 = Math.floor(((by + 1) * display.height) / blocks)
      for (let y = y0; y < y1; y++)
        for (let x = x0; x < x1; x++, n++) expected += display.grey[y * display.width + x]
      let shown = 0
      let m = 0
      const a = fit.toCanvas(x0, y0)
      const b = fit.toCanvas(x1, y1)
      for (let y = Math.ceil(a.y); y < b.y - 1; y++)
        for (let x = Math.ceil(a.x); x < b.x - 1; x++, m++) shown += pixel(canvas, x, y)[0]
      total += Math.abs(expected / n - shown / m)
    }
  }
  return total / ((blocks - 2) * (blocks - 2))
}

function boxedImage(demo: DemoDataset, photometric: string) {
  return demo.images.find(
    (image) =>
      image.path.startsWith('train/') &&
      image.photometric === photometric &&
      (demo.boxes.get(image.imageId)?.length ?? 0) > 0
  )
}

test('opening the dataset lists its studies with the counts cxr-studio eda gives', async ({
  studio,
  demo
}) => {
  const { page } = studio
  await studio.snap('1-home')
  await studio.openFolder(demo.root)
  await studio.snap('2-studies')
  await expect(page.getByTestId('count-studies')).toHaveText(String(demo.eda.studies.total))
  for (const cls of ['negative', 'typical', 'indeterminate', 'atypical'] as const) {
    await expect(page.getByTestId(`count-${cls}`)).toHaveText(String(demo.eda.studies[cls]))
  }
  await expect(page.getByTestId('count-images')).toHaveText(String(demo.eda.images.total))
  await expect(page.getByTestId('count-with-boxes')).toHaveText(String(demo.eda.images.withBoxes))
  await expect(page.getByTestId('count-test-images')).toHaveText(
    String(demo.images.filter((i) => i.path.startsWith('test/')).length)
  )

  // filters narrow the list the way their labels say (eda counts train labels; the demo's test
  // images show their held-out truth boxes too)
  await page.getByTestId('filter-split').selectOption('train')
  await page.getByTestId('filter-boxes').selectOption('with')
  await expect(page.getByTestId('shown-count')).toContainText(`${demo.eda.images.withBoxes} of`)
  await page.getByTestId('filter-boxes').selectOption('all')
  await page.getByTestId('filter-split').selectOption('all')
  await page.getByTestId('search').fill(demo.images[0].studyId)
  await expect(page.getByTestId('image-row').first()).toHaveAttribute('data-image-id', demo.images[0].imageId)
  await studio.snap('3-search')
})

test('the viewer shows an image windowed as the CLI does, with its ground-truth box where the CSV puts it', async ({
  studio,
  demo
}) => {
  const { page } = studio
  await studio.openFolder(demo.root)
  const image = boxedImage(demo, 'MONOCHROME2')!
  await openImage(studio, image.imageId)
  await studio.snap('1-viewer')

  const canvas = await readCanvas(page)
  const fit = fitGeometry(canvas, image)
  let coloured = 0
  let sampled = 0
  for (const box of demo.boxes.get(image.imageId)!) {
    for (let t = 0.1; t <= 0.9; t += 0.1) {
      const points = [
        fit.toCanvas(box.x + t * box.width, box.y),
        fit.toCanvas(box.x + t * box.width, box.y + box.height),
        fit.toCanvas(box.x, box.y + t * box.height),
        fit.toCanvas(box.x + box.width, box.y + t * box.height)
      ]
      for (const p of points) {
        sampled++
        const near = [-1, 0, 1].flatMap((dy) => [-1, 0, 1].map((dx) => pixel(canvas, p.x + dx, p.y + dy)))
        if (near.some(isColoured)) coloured++
      }
    }
    const centre = fit.toCanvas(box.x + box.width / 2, box.y + box.height / 2)
    expect(isColoured(pixel(canvas, centre.x, centre.y)), 'the box is an outline, not a fill').toBe(false)
  }
  expect(
    coloured / sampled,
    `${coloured} of ${sampled} points on the CSV box edges are box-coloured`
  ).toBeGreaterThan(0.9)

  // without the overlay (g), the image itself matches the CLI's display pipeline
  await page.keyboard.press('g')
  await nextFrames(page)
  const bare = await readCanvas(page)
  let colouredLeft = 0
  for (let i = 0; i < bare.rgba.length; i += 4)
    if (isColoured([bare.rgba[i], bare.rgba[i + 1], bare.rgba[i + 2]])) colouredLeft++
  expect(colouredLeft, 'box pixels left after hiding the boxes (g)').toBe(0)
  const error = windowingError(bare, cliDisplayImage(join(demo.root, image.path), demo.workspace))
  expect(error, 'mean grey-level difference from `cxr-studio decode --display`').toBeLessThan(6)
  await studio.snap('2-boxes-hidden')

  // MONOCHROME1: inverted after VOI, so it must look like the CLI's display image too
  const mono1 = demo.images.find((i) => i.photometric === 'MONOCHROME1' && i.path.startsWith('train/'))!
  await openImage(studio, mono1.imageId)
  await page.keyboard.press('g')
  await nextFrames(page)
  const mono1Error = windowingError(
    await readCanvas(page),
    cliDisplayImage(join(demo.root, mono1.path), demo.workspace)
  )
  expect(mono1Error, 'MONOCHROME1 grey-level difference from `cxr-studio decode --display`').toBeLessThan(6)
  await expect(page.getByTestId('corner-wl')).toContainText('inverted (MONOCHROME1)')
  await studio.snap('3-monochrome1')
})

test('W/L drag and invert change the pixels, and the keyboard moves to the next image', async ({
  studio,
  demo
}) => {
  const { page } = studio
  await studio.openFolder(demo.root)
  const rows = page.getByTestId('image-row')
  const firstId = (await rows.nth(0).getAttribute('data-image-id'))!
  const secondId = (await rows.nth(1).getAttribute('data-image-id'))!
  await rows.nth(0).click()
  await waitForImage(studio, firstId)
  const image = demo.images.find((i) => i.imageId === firstId)!
  const before = await readCanvas(page)
  const area = (() => {
    const fit = fitGeometry(before, image)
    return { left: fit.left, top: fit.top, width: image.columns * fit.scale, height: image.rows * fit.scale }
  })()
  const wlBefore = await page.getByTestId('corner-wl').innerText()

  const box = (await page.getByTestId('viewport').boundingBox())!
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2)
  await page.mouse.down()
  await page.mouse.move(box.x + box.width / 2 + 140, box.y + box.height / 2 + 70, { steps: 12 })
  await page.mouse.up()
  await expect(page.getByTestId('corner-wl')).not.toHaveText(wlBefore)
  const dragged = await readCanvas(page)
  let changed = 0
  for (let i = 0; i < before.rgba.length; i += 4)
    if (Math.abs(before.rgba[i] - dragged.rgba[i]) > 8) changed++
  expect(
    changed / (area.width * area.height),
    'share of image pixels changed by the W/L drag'
  ).toBeGreaterThan(0.2)
  await studio.snap('1-after-wl-drag')

  await page.keyboard.press('i')
  await expect(page.getByTestId('corner-wl')).toContainText('inverted')
  const inverted = await readCanvas(page)
  expect(meanGrey(inverted, area)).toBeCloseTo(255 - meanGrey(dragged, area), -1)
  await studio.snap('2-inverted')

  await page.keyboard.press('ArrowRight')
  await waitForImage(studio, secondId)
  await expect(page.getByTestId('position')).toHaveText(/^2 \/ \d+$/)
  await studio.snap('3-next-image')
  await page.keyboard.press('ArrowLeft')
  await waitForImage(studio, firstId)
  await expect(page.getByTestId('shown-ms')).toContainText('(cached)')
})

test('an unreadable file shows its error in the viewport, and the tag panel finds tags', async ({
  studio,
  demo
}) => {
  const { page } = studio
  await studio.openFolder(demo.root)
  await page.getByTestId('search').fill(BROKEN_IMAGE_ID)
  await page.locator(`[data-testid=image-row][data-image-id="${BROKEN_IMAGE_ID}"]`).click()
  await expect(page.getByTestId('viewer-error')).toContainText(`${BROKEN_IMAGE_ID}.dcm`)
  await studio.snap('1-unreadable')

  const image = demo.images[0]
  await openImage(studio, image.imageId)
  await page.getByTestId('tab-tags').click()
  await page.getByTestId('tag-search').fill('rows')
  await expect(page.getByTestId('tag-row').filter({ hasText: '(0028,0010)' })).toContainText(
    String(image.rows)
  )
  await studio.snap('2-tags')
})

test('the data page shows the counts cxr-studio eda gives and the quality list shows the duplicated image', async ({
  studio,
  demo
}) => {
  const { page } = studio
  await studio.openFolder(demo.root)
  await page.getByTestId('nav-data').click()
  const { eda } = demo
  await expect(page.getByTestId('eda-studies-total')).toHaveText(String(eda.studies.total))
  for (const cls of ['negative', 'typical', 'indeterminate', 'atypical'] as const) {
    await expect(page.getByTestId(`eda-studies-${cls}`)).toHaveText(String(eda.studies[cls]))
  }
  await expect(page.getByTestId('eda-images-total')).toHaveText(String(eda.images.total))
  await expect(page.getByTestId('eda-images-with-boxes')).toHaveText(String(eda.images.withBoxes))
  await expect(page.getByTestId('eda-images-without-boxes')).toHaveText(String(eda.images.withoutBoxes))
  await expect(page.getByTestId('eda-boxes-total')).toHaveText(String(eda.boxes.total))
  await expect(page.getByTestId('eda-positives-images')).toHaveText(String(eda.positivesWithoutBoxes.images))
  await expect(page.getByTestId('eda-positives-studies')).toHaveText(
    String(eda.positivesWithoutBoxes.studies)
  )
  await studio.snap('1-data')

  const duplicate = demo.duplicates[0]
  const quality = page.getByTestId('quality')
  await expect(quality.getByTestId('rule-unlabelled-duplicate')).toContainText(duplicate.duplicateImageId)
  await expect(quality.getByTestId('rule-pixel-identical')).toContainText(duplicate.duplicateImageId, {
    timeout: 60_000
  })
  await quality.getByTestId('rule-unlabelled-duplicate').scrollIntoViewIfNeeded()
  await studio.snap('2-quality')

  await quality
    .getByTestId('rule-unlabelled-duplicate')
    .getByTestId('quality-issue')
    .filter({ hasText: duplicate.duplicateImageId })
    .click()
  await waitForImage(studio, duplicate.duplicateImageId)
  await studio.snap('3-duplicate-in-viewer')
})

test('"Try the demo dataset" generates the demo on first use and lists it', async ({ studio }) => {
  test.setTimeout(240_000)
  const { page } = studio
  await page.getByTestId('open-demo').click()
  await expect(page.getByTestId('studies-summary')).toBeVisible({ timeout: 180_000 })
  await expect(page.getByTestId('image-row').first()).toBeVisible()
  await studio.snap('1-demo')
})

test('the prediction layer draws boxes from a submission CSV above the score threshold', async ({
  studio,
  demo
}) => {
  const { page } = studio
  await studio.openFolder(demo.root)
  const image = demo.images.find((i) => i.path.startsWith('train/'))!
  // one opacity at 0.8 in the middle of the image, in original pixels
  const [x1, y1, x2, y2] = [0.3 * image.columns, 0.4 * image.rows, 0.6 * image.columns, 0.7 * image.rows].map(
    Math.round
  )
  // in the workspace: predictions files are read only from there or a dataset folder (never written)
  const submission = join(demo.workspace, 'submission.csv')
  writeFileSync(
    submission,
    `id,PredictionString\n${image.imageId}_image,opacity 0.8 ${x1} ${y1} ${x2} ${y2} none 0.2 0 0 1 1\n`
  )
  await openImage(studio, image.imageId)
  await page.keyboard.press('g')
  await page.getByTestId('predictions-path').fill(submission)
  await page.getByTestId('predictions-load').click()
  await expect(page.getByTestId('layer-counts')).toContainText('1 box on 1 image')
  // a train image has truth: the box is reviewed, a true or a false positive
  const legend = page.getByTestId('review-legend')
  await expect(legend).toHaveAttribute('data-shown', '1')
  const verdicts = Number(await legend.getAttribute('data-tp')) + Number(await legend.getAttribute('data-fp'))
  expect(verdicts).toBe(1)
  await nextFrames(page)

  // the review colours: found (green) or false alarm (magenta)
  const isPrediction = ([r, g, b]: [number, number, number]) =>
    (r < 120 && g > 180 && b < 170) || (r > 200 && g < 130 && b > 170)
  const edgeHits = async () => {
    const canvas = await readCanvas(page)
    const fit = fitGeometry(canvas, image)
    let hits = 0
    for (let t = 0.1; t <= 0.9; t += 0.2) {
      const p = fit.toCanvas(x1 + t * (x2 - x1), y1)
      const near = [-1, 0, 1].flatMap((dy) => [-1, 0, 1].map((dx) => pixel(canvas, p.x + dx, p.y + dy)))
      if (near.some(isPrediction)) hits++
    }
    return hits
  }
  expect(
    await edgeHits(),
    'points of the predicted box top edge drawn in the prediction colour'
  ).toBeGreaterThanOrEqual(3)
  await studio.snap('1-prediction')

  await page.getByTestId('score-threshold').evaluate((element) => {
    const input = element as unknown as { value: string; dispatchEvent(event: object): void }
    input.value = '0.9'
    input.dispatchEvent(
      new (globalThis as unknown as { Event: new (type: string, init: object) => object }).Event('input', {
        bubbles: true
      })
    )
  })
  await nextFrames(page)
  expect(await edgeHits(), 'a 0.8 box under a 0.9 threshold').toBe(0)
  await studio.snap('2-above-threshold')
})
