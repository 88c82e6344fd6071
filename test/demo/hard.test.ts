// The hard demo (`demo --hard`): a benchmark whose study classes differ by where and how many faint
// opacities there are. Checked from the written files (CSV boxes, decoded pixels, the dataset
// loader) against the plan and the default demo.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Dataset } from '../../common/dataset'
import { STUDY_CLASSES, type OpacityBox, type StudyClass } from '../../common/domain'
import { openDataset } from '../../main/core/dataset'
import { generateDemo, HARD_DEMO_DEFAULTS, type DemoSummary } from '../../main/core/demo'
import { decodeFile } from '../../main/core/dicom/decode'
import { WRITE_SYNTAXES } from '../../main/core/dicom/write'
import {
  HARD_CLASS_SHARES,
  hardClassCounts,
  PATTERN_PROBABILITIES,
  planHardDemo,
  type StudyPattern
} from '../../main/core/demo/hard-plan'
import { planDemo, type DemoPlan } from '../../main/core/demo/plan'
import { renderStoredPixels } from '../../main/core/demo/render'
import { listFiles, parseKaggleBoxes, readCsv } from './helpers'

const SEED = 42
const TRAIN = 60
const TEST = 30

let dir: string
let root: string
let summary: DemoSummary
let dataset: Dataset
/** A small default demo, the reference for faintness. */
let defaultRoot: string

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cxr-hard-demo-'))
  root = join(dir, 'hard')
  defaultRoot = join(dir, 'default')
  summary = await generateDemo(root, { hard: true, studies: TRAIN, testStudies: TEST, seed: SEED })
  await generateDemo(defaultRoot, { studies: 12, testStudies: 4, seed: SEED })
  dataset = await openDataset(root, { workspace: join(dir, 'workspace') })
}, 600_000) // about 15 s of CPU; minutes on a loaded machine
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length)
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

/** study id -> class, from a split's study CSV (train_study_level.csv or the demo's test truth). */
function studyClasses(split: 'train' | 'test'): Map<string, StudyClass> {
  return new Map(
    readCsv(join(root, `${split}_study_level.csv`)).rows.map((row) => [
      row[0].replace(/_study$/, ''),
      STUDY_CLASSES[row.slice(1).indexOf('1')]
    ])
  )
}

/** Per study of both splits with boxes: its class, and the boxes of its most-boxed image with that image's size. */
function boxedStudies(): Array<{
  studyClass: StudyClass
  boxes: OpacityBox[]
  rows: number
  columns: number
}> {
  const records = new Map(dataset.images.map((i) => [i.imageId, i.record!]))
  return (['train', 'test'] as const).flatMap((split) => {
    const classes = studyClasses(split)
    const best = new Map<string, { imageId: string; boxes: OpacityBox[] }>()
    for (const [id, boxesText, , studyId] of readCsv(join(root, `${split}_image_level.csv`)).rows) {
      const boxes = parseKaggleBoxes(boxesText)
      if (boxes.length > (best.get(studyId)?.boxes.length ?? 0))
        best.set(studyId, { imageId: id.replace(/_image$/, ''), boxes })
    }
    return [...best].map(([studyId, { imageId, boxes }]) => ({
      studyClass: classes.get(studyId)!,
      boxes,
      rows: records.get(imageId)!.rows,
      columns: records.get(imageId)!.columns
    }))
  })
}

describe('the hard demo dataset', () => {
  it('opens with the dataset loader without errors, every image at least 512 px a side, classes as planned', () => {
    expect(dataset.fileErrors).toEqual([])
    expect(dataset.labelErrors).toEqual([])
    expect(dataset.images).toHaveLength(summary.splits.train.images + summary.splits.test.images)
    for (const image of dataset.images) {
      expect(image.record, image.imageId).not.toBeNull()
      expect(Math.min(image.record!.rows, image.record!.columns)).toBeGreaterThanOrEqual(512)
      expect(Math.max(image.record!.rows, image.record!.columns)).toBeLessThanOrEqual(768)
    }
    for (const [split, count] of [
      ['train', TRAIN],
      ['test', TEST]
    ] as const) {
      expect(dataset.studies.filter((s) => s.split === split)).toHaveLength(count)
      // the loader reads the train labels; the test truth is the demo's test_study_level.csv
      const classes =
        split === 'train'
          ? dataset.studies.filter((s) => s.split === 'train').map((s) => s.label?.label)
          : [...studyClasses('test').values()]
      expect(classes).toHaveLength(count)
      const counted = Object.fromEntries(STUDY_CLASSES.map((c) => [c, classes.filter((l) => l === c).length]))
      expect(counted, split).toEqual(hardClassCounts(count))
      expect(counted, split).toEqual(summary.splits[split].studiesPerClass)
    }
  })

  it('class shares follow the real train set, with at least 8 studies per class at the default 120 train studies', () => {
    const counts = hardClassCounts(HARD_DEMO_DEFAULTS.studies)
    expect(counts).toEqual({ negative: 33, typical: 57, indeterminate: 21, atypical: 9 })
    for (const c of STUDY_CLASSES) {
      expect(counts[c]).toBeGreaterThanOrEqual(8)
      expect(Math.abs(counts[c] / HARD_DEMO_DEFAULTS.studies - HARD_CLASS_SHARES[c])).toBeLessThan(0.02)
    }
    // the floor lifts a rare class at small sizes: 60 test studies hold 7 atypical, not 5
    expect(hardClassCounts(HARD_DEMO_DEFAULTS.testStudies).atypical).toBe(7)
    const large = hardClassCounts(2000)
    expect(Object.values(large).reduce((a, b) => a + b, 0)).toBe(2000)
    expect(large.atypical).toBe(Math.round(2000 * HARD_CLASS_SHARES.atypical))
    expect(Object.values(hardClassCounts(4))).toEqual([1, 1, 1, 1])
  })

  it('every CSV box lies inside its image and is what the plan drew, except the planned quirks', () => {
    const plan = planHardDemo(SEED, TRAIN, TEST)
    const byId = new Map(dataset.images.map((i) => [i.imageId, i]))
    const unboxed = new Set(plan.quirks.positiveWithoutBoxes.map((q) => q.imageId))
    const copies = new Set(plan.quirks.duplicates.map((q) => q.duplicateImageId))
    expect(unboxed.size).toBeGreaterThanOrEqual(2)
    let boxes = 0
    for (const image of plan.images) {
      const loaded = byId.get(image.imageId)!
      const csvBoxes = loaded.label?.boxes ?? []
      for (const box of csvBoxes) {
        expect(box.x).toBeGreaterThanOrEqual(0)
        expect(box.y).toBeGreaterThanOrEqual(0)
        expect(box.x + box.width, image.imageId).toBeLessThanOrEqual(loaded.record!.columns)
        expect(box.y + box.height, image.imageId).toBeLessThanOrEqual(loaded.record!.rows)
      }
      if (image.split === 'test') continue // the test truth is checked by the metric's tests
      boxes += csvBoxes.length
      const drawn = image.opacities.map(({ x, y, width, height }) => ({ x, y, width, height }))
      if (unboxed.has(image.imageId) || copies.has(image.imageId)) {
        expect(csvBoxes, image.imageId).toEqual([])
        if (unboxed.has(image.imageId)) expect(drawn.length).toBeGreaterThan(0)
      } else if (image.instanceNumber === 1 && image.seriesNumber === 1) {
        expect(csvBoxes, image.imageId).toEqual(drawn)
      } else {
        expect(drawn.slice(0, csvBoxes.length)).toEqual(csvBoxes) // the repeat and the unlabelled image
      }
    }
    expect(boxes).toBe(summary.splits.train.boxes)
  })

  it('encodes the class by location: typical boxes lateral and bilateral, atypical central, indeterminate between', () => {
    const studies = boxedStudies()
    const stats = Object.fromEntries(
      (['typical', 'indeterminate', 'atypical'] as const).map((studyClass) => {
        const mine = studies.filter((s) => s.studyClass === studyClass)
        const centresU = mine.map((s) => s.boxes.map((b) => (b.x + b.width / 2) / s.columns))
        return [
          studyClass,
          {
            studies: mine.length,
            lateral: mean(centresU.flat().map((u) => Math.abs(u - 0.5))),
            bilateral: mean(
              centresU.map((us) => (us.some((u) => u < 0.5) && us.some((u) => u > 0.5) ? 1 : 0))
            ),
            boxes: mean(mine.map((s) => s.boxes.length)),
            height: mean(mine.flatMap((s) => s.boxes.map((b) => (b.y + b.height / 2) / s.rows)))
          }
        ]
      })
    )
    const { typical, indeterminate, atypical } = stats
    expect(atypical.studies).toBeGreaterThanOrEqual(8)
    // mean distance of a box centre from the image's vertical midline
    expect(typical.lateral).toBeGreaterThan(indeterminate.lateral)
    expect(indeterminate.lateral).toBeGreaterThan(atypical.lateral + 0.03)
    // share of studies with boxes on both sides
    expect(typical.bilateral).toBeGreaterThan(0.6)
    expect(indeterminate.bilateral).toBeLessThan(typical.bilateral - 0.3)
    expect(atypical.bilateral).toBeLessThan(typical.bilateral - 0.3)
    expect(typical.boxes).toBeGreaterThan(atypical.boxes + 0.5)
    expect(typical.height).toBeGreaterThan(atypical.height + 0.05) // lower-zone predominant
  })

  it('overlaps the classes as documented: each class draws its patterns with the README probabilities', () => {
    const plan = planHardDemo(7, 1500, 1000)
    for (const studyClass of STUDY_CLASSES) {
      const studies = plan.studies.filter((s) => s.studyClass === studyClass)
      for (const [pattern, probability] of Object.entries(PATTERN_PROBABILITIES[studyClass])) {
        const share = studies.filter((s) => s.pattern === (pattern as StudyPattern)).length / studies.length
        expect(Math.abs(share - probability), `${studyClass} ${pattern}`).toBeLessThan(0.06)
      }
    }
    const readme = readFileSync(join(root, 'README.txt'), 'utf8')
    expect(readme.startsWith('CXR Studio synthetic demo dataset - hard variant')).toBe(true)
    expect(readme).toContain(
      'atypical       share 0.078; single-central 0.55, central 0.35, central+peripheral 0.1'
    )
    // the same pattern is drawn from several classes: single-central from atypical and indeterminate
    const patterns = summary.hard!.patterns
    const singleCentral = STUDY_CLASSES.filter((c) =>
      (['train', 'test'] as const).some((split) => (patterns[split][c]['single-central'] ?? 0) > 0)
    )
    expect(singleCentral.sort()).toEqual(['atypical', 'indeterminate'])
  })

  it('varies patients and exposures: rotation, lung size, diaphragm height, response curve and windows', () => {
    const images = planHardDemo(SEED, TRAIN, TEST).images
    const spread = (values: number[]) => Math.max(...values) - Math.min(...values)
    expect(spread(images.map((i) => (i.hard!.rotation * 180) / Math.PI))).toBeGreaterThan(6)
    expect(spread(images.map((i) => i.geometry.lungBottom))).toBeGreaterThan(0.12)
    expect(spread(images.map((i) => i.geometry.rightLung.halfWidth))).toBeGreaterThan(0.04)
    expect(spread(images.map((i) => i.geometry.mediastinumHalfWidth))).toBeGreaterThan(0.025)
    expect(spread(images.map((i) => i.hard!.exposure.gamma))).toBeGreaterThan(0.35)
    expect(spread(images.map((i) => i.hard!.exposure.windowWidth))).toBeGreaterThan(0.3)
    expect(images.filter((i) => i.hard!.mimics.length > 0).length).toBeGreaterThan(5)
  })

  it('draws each opacity strictly inside its box: rendered without its opacities, only box pixels differ', () => {
    const plan = planHardDemo(SEED, TRAIN, TEST)
    const boxed = plan.images.filter((i) => i.opacities.length > 0 && i.hard!.mimics.length > 0).slice(0, 3)
    boxed.push(
      ...plan.images.filter((i) => i.opacities.length > 1 && i.hard!.mimics.length === 0).slice(0, 3)
    )
    expect(boxed).toHaveLength(6)
    for (const image of boxed) {
      const withOpacities = renderStoredPixels(SEED, image).pixels
      const without = renderStoredPixels(SEED, { ...image, opacities: [] }).pixels
      let inside = 0
      let changedInside = 0
      let changedOutside = 0
      for (let y = 0; y < image.rows; y++) {
        for (let x = 0; x < image.columns; x++) {
          const i = y * image.columns + x
          const isInside = image.opacities.some(
            (b) => x + 0.5 > b.x && x + 0.5 < b.x + b.width && y + 0.5 > b.y && y + 0.5 < b.y + b.height
          )
          const changed = withOpacities[i] !== without[i]
          if (!isInside) changedOutside += changed ? 1 : 0
          else {
            inside++
            changedInside += changed ? 1 : 0
          }
        }
      }
      expect(changedOutside, `${image.imageId}: pixels changed outside its boxes`).toBe(0)
      expect(changedInside / inside, image.imageId).toBeGreaterThan(0.4)
    }
  })

  it('is fainter than the default demo: opacity signal over pixel noise, measured in the decoded files', async () => {
    const hard = await signalToNoise(root, planHardDemo(SEED, TRAIN, TEST))
    const reference = await signalToNoise(defaultRoot, planDemo(SEED, 12, 4))
    expect(hard.length).toBeGreaterThan(20)
    expect(reference.length).toBeGreaterThan(8)
    // the hard demo's ground glass adds a few noise sigmas; the default demo's patches tens of them
    expect(median(hard)).toBeLessThan(median(reference) / 3)
    expect(median(hard)).toBeGreaterThan(0.5) // still there to be found
  })
})

describe('generateDemo --hard', () => {
  it('is deterministic: the same seed writes identical bytes, another seed other studies', async () => {
    const again = mkdtempSync(join(tmpdir(), 'cxr-hard-again-'))
    try {
      const options = { hard: true, studies: 8, testStudies: 4, seed: 9 }
      await generateDemo(join(again, 'a'), options)
      await generateDemo(join(again, 'b'), options)
      const paths = listFiles(join(again, 'a'))
      expect(listFiles(join(again, 'b'))).toEqual(paths)
      expect(paths.filter((p) => p.endsWith('.dcm')).length).toBeGreaterThanOrEqual(12)
      for (const path of paths)
        expect(readFileSync(join(again, 'b', path)).equals(readFileSync(join(again, 'a', path))), path).toBe(
          true
        )
      const other = planHardDemo(10, 8, 4)
      const first = planHardDemo(9, 8, 4)
      expect(other.studies.map((s) => s.studyId)).not.toEqual(first.studies.map((s) => s.studyId))
    } finally {
      rmSync(again, { recursive: true, force: true })
    }
  })
})

/**
 * Per box of a folder's boxed, losslessly written train images (up to 30): the mean signal the
 * opacity adds inside its box - the decoded file minus the same image rendered without opacities -
 * over the noise sigma of the file around the box, estimated from residuals against the mean of the
 * four neighbours (x sqrt(4/5), exact for white noise; the hard demo's correlated noise comes out
 * lower, which only makes it look less faint).
 */
async function signalToNoise(folder: string, plan: DemoPlan): Promise<number[]> {
  const paths = new Map(
    listFiles(folder)
      .filter((f) => f.startsWith('train/') && f.endsWith('.dcm'))
      .map((f) => [f.slice(-16, -4), f])
  )
  const images = plan.images
    .filter((i) => i.split === 'train' && i.boxes.length > 0 && !WRITE_SYNTAXES[i.syntax].lossy)
    .slice(0, 30)
  const ratios: number[] = []
  for (const image of images) {
    const path = paths.get(image.imageId)!
    const decoded = await decodeFile(join(folder, path), path)
    const sign = decoded.photometric === 'MONOCHROME1' ? -1 : 1
    const plain = renderStoredPixels(SEED, { ...image, opacities: [] }).pixels
    const at = (x: number, y: number) => decoded.pixels[y * image.columns + x]
    for (const box of image.boxes) {
      const added: number[] = []
      const residuals: number[] = []
      const x0 = Math.max(1, Math.floor(box.x - 0.4 * box.width))
      const x1 = Math.min(image.columns - 2, Math.ceil(box.x + 1.4 * box.width))
      const y0 = Math.max(1, Math.floor(box.y - 0.4 * box.height))
      const y1 = Math.min(image.rows - 2, Math.ceil(box.y + 1.4 * box.height))
      for (let y = y0; y <= y1; y++) {
        for (let x = x0; x <= x1; x++) {
          const inBox =
            x + 0.5 > box.x && x + 0.5 < box.x + box.width && y + 0.5 > box.y && y + 0.5 < box.y + box.height
          if (inBox) added.push(sign * (at(x, y) - plain[y * image.columns + x]))
          else residuals.push(at(x, y) - (at(x - 1, y) + at(x + 1, y) + at(x, y - 1) + at(x, y + 1)) / 4)
        }
      }
      const residualMean = mean(residuals)
      const sigma = Math.sqrt((mean(residuals.map((r) => (r - residualMean) ** 2)) * 4) / 5)
      ratios.push(mean(added) / sigma)
    }
  }
  return ratios
}
