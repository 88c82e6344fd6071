// `cxr-studio coco` and `yolo` end to end: a generated demo dataset, the real decode pool, PNGs on disk.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { PNG } from 'pngjs'
import { generateDemo } from '../../main/core/demo'
import { importCoco } from '../../main/core/export/coco-import'
import { parseImageCsv } from '../../main/core/labels'
import { runCli } from '../cli'

const BUILT = join(import.meta.dirname, '..', '..', 'out', 'node', 'cli.js')

const cli = (...args: string[]) => runCli(['--workspace', join(work, 'ws'), ...args])

/** Every file under `dir` with its size and mtime, to prove the dataset folder is never written. */
function snapshot(dir: string): string[] {
  const out: string[] = []
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name)
      const s = statSync(path)
      if (s.isDirectory()) walk(path)
      else out.push(`${relative(dir, path)} ${s.size} ${s.mtimeMs}`)
    }
  }
  walk(dir)
  return out.sort()
}

let work: string
let demo: string
let before: string[]

beforeAll(async () => {
  if (!existsSync(BUILT))
    throw new Error('out/node/cli.js is missing: run `npm run build:node` first (npm test does)')
  work = mkdtempSync(join(tmpdir(), 'cxr-export-cli-'))
  demo = join(work, 'demo')
  await generateDemo(demo, { studies: 10, testStudies: 2, seed: 8 })
  before = snapshot(demo)
})
afterAll(() => rmSync(work, { recursive: true, force: true }))

describe('cxr-studio coco', () => {
  it('exports PNGs of the requested size whose boxes import back to the CSV boxes', async () => {
    const out = join(work, 'coco')
    const run = await cli('coco', demo, '--out', out, '--images', 'png8', '--size', '128', '--json')
    expect(run.code).toBe(0)
    const summary = JSON.parse(run.stdout)
    expect(summary.errors).toEqual([])
    expect(summary.images).toBe(summary.subsets.train.images + summary.subsets.val.images)
    expect(summary.subsets.val.images).toBeGreaterThan(0)

    const train = JSON.parse(readFileSync(join(out, 'train.json'), 'utf8'))
    for (const image of train.images) {
      const png = PNG.sync.read(readFileSync(join(out, image.file_name)))
      expect([png.width, png.height]).toEqual([image.width, image.height])
      expect(Math.max(png.width, png.height)).toBe(128)
    }

    const csvBoxes = new Map(
      parseImageCsv(readFileSync(join(demo, 'train_image_level.csv'), 'utf8')).labels.map((l) => [
        l.imageId,
        l.boxes
      ])
    )
    const imported = [
      ...(await importCoco(join(out, 'train.json'))).images,
      ...(await importCoco(join(out, 'val.json'))).images
    ]
    expect(imported.length).toBe(summary.images)
    for (const image of imported) {
      const expected = csvBoxes.get(image.imageId)!
      expect(image.boxes.length).toBe(expected.length)
      image.boxes.forEach((b, k) => {
        // 1e-4 px rounding in the 128-px frame, scaled back by up to ~original/128
        for (const key of ['x', 'y', 'width', 'height'] as const)
          expect(Math.abs(b[key] - expected[k][key])).toBeLessThan(0.05)
      })
    }
    expect(snapshot(demo)).toEqual(before)
  })

  it('rejects --size without --images, a bad fraction, and an output inside the dataset', async () => {
    const noImages = await cli('coco', demo, '--out', join(work, 'x'), '--size', '64')
    expect(noImages.code).toBe(1)
    expect(noImages.stderr).toContain('--size needs --images')
    expect((await cli('coco', demo, '--out', join(work, 'x'), '--val-fraction', '1.5')).code).toBe(2)
    const inside = await cli('coco', demo, '--out', join(demo, 'export'))
    expect(inside.code).toBe(1)
    expect(inside.stderr).toContain('must not be inside the dataset folder')
    expect(snapshot(demo)).toEqual(before)
  })
})

describe('cxr-studio yolo', () => {
  it('writes images, labels and dataset.yaml for every kept image', async () => {
    const out = join(work, 'yolo')
    const run = await cli('yolo', demo, '--out', out, '--images', 'png16', '--size', '96', '--seed', '3')
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('Exported to')
    for (const subset of ['train', 'val']) {
      const images = readdirSync(join(out, 'images', subset)).map((f) => f.replace(/\.png$/, ''))
      const labels = readdirSync(join(out, 'labels', subset)).map((f) => f.replace(/\.txt$/, ''))
      expect(labels.sort()).toEqual(images.sort())
      for (const id of labels) {
        for (const line of readFileSync(join(out, 'labels', subset, `${id}.txt`), 'utf8')
          .trim()
          .split('\n')
          .filter(Boolean)) {
          const [cls, ...xywh] = line.split(' ').map(Number)
          expect(cls).toBe(0)
          expect(xywh.every((v) => v >= 0 && v <= 1)).toBe(true)
        }
      }
    }
    const first = readdirSync(join(out, 'images', 'train'))[0]
    expect(readFileSync(join(out, 'images', 'train', first))[24]).toBe(16)
    // 12- and 16-bit demo images fill the 16 bits (an 8-bit reader keeps the high byte)
    for (const name of readdirSync(join(out, 'images', 'train'))) {
      const png = PNG.sync.read(readFileSync(join(out, 'images', 'train', name)), { skipRescale: true })
      let max = 0
      for (let i = 0; i < png.width * png.height; i++) max = Math.max(max, png.data[i * 4])
      expect(max, name).toBeGreaterThan(0.8 * 65535)
    }
    // every image whose values the window clamped is counted and named
    const clamped =
      /(\d+) image\(s\) had values outside the VOI window, clamped \(png16\):\n((?: {4}.*\n)*)/.exec(
        run.stdout
      )
    expect(clamped, run.stdout).not.toBeNull()
    const named = clamped![2].trim().split('\n')
    expect(named.length).toBe(Math.min(20, Number(clamped![1])))
    expect(named[0]).toMatch(
      /^train\/.*\.dcm: png16: \d+ pixel\(s\) .* were clamped to the ends of 0\.\.65535$/
    )
    expect(run.stdout).toContain('pixels: the same VOI as png8')
    expect(readFileSync(join(out, 'dataset.yaml'), 'utf8')).toContain(
      'train: images/train\nval: images/val\nnames:\n  0: opacity\n'
    )
    expect(snapshot(demo)).toEqual(before)
  })
})

describe('the test split in an export (--test)', () => {
  it('YOLO: images/test holds every readable test image, without labels, and dataset.yaml names it', async () => {
    const out = join(work, 'yolo-test')
    const run = await cli('yolo', demo, '--out', out, '--test', '--size', '64')
    expect(run.code, run.stderr).toBe(0)
    const testIds = readdirSync(join(demo, 'test'), { recursive: true })
      .map(String)
      .filter((file) => file.endsWith('.dcm'))
      .map((file) =>
        file
          .split('/')
          .pop()!
          .replace(/\.dcm$/, '')
      )
      .sort()
    expect(testIds.length).toBeGreaterThan(0)
    expect(readdirSync(join(out, 'images', 'test')).sort()).toEqual(testIds.map((id) => `${id}.png`))
    expect(existsSync(join(out, 'labels', 'test'))).toBe(false)
    expect(readFileSync(join(out, 'dataset.yaml'), 'utf8')).toMatch(/^test: images\/test/m)
    expect(run.stdout).toMatch(/test\s+\d+ images/)
  })

  it('COCO: test.json lists the test images with no annotations; without --test there is none', async () => {
    const out = join(work, 'coco-test')
    expect((await cli('coco', demo, '--out', out, '--test')).code).toBe(0)
    const test = JSON.parse(readFileSync(join(out, 'test.json'), 'utf8')) as {
      images: Array<{ file_name: string }>
      annotations: unknown[]
    }
    expect(test.images.length).toBeGreaterThan(0)
    expect(test.images.every((image) => image.file_name.startsWith('test/'))).toBe(true)
    expect(test.annotations).toEqual([])
    const plain = join(work, 'coco-plain')
    expect((await cli('coco', demo, '--out', plain)).code).toBe(0)
    expect(existsSync(join(plain, 'test.json'))).toBe(false)
  })
})

// DESIGN rule 6: `submit --out <dataset>/sample_submission.csv` overwrote the dataset's own file. The
// output rule runs before the run is read, so a run folder that does not exist still shows it.
describe('outputs of predict, submit and evaluate', () => {
  const run = () => join(work, 'no-such-run')
  it.each([
    ['submit', ['--out', 'sample_submission.csv']],
    ['predict', ['--out', 'predictions.json']],
    ['predict', ['--out', '<outside>', '--submission', 'submission.csv']],
    ['evaluate', ['--predictions', 'predictions.json']]
  ])(
    '%s %s refuses a file inside the dataset folder (exit 1) and leaves the folder as it was',
    async (command, options) => {
      const args = options.map((option, i) =>
        i % 2 === 0 ? option : option === '<outside>' ? join(work, 'p.json') : join(demo, option)
      )
      const result = await cli(command, run(), demo, ...args)
      expect(result.code).toBe(1)
      const inside = args.find((arg) => arg.startsWith(demo))!
      expect(result.stderr).toBe(
        `cxr-studio: ${inside}: must not be inside the dataset folder ${demo}; source datasets are never written\n`
      )
      expect(snapshot(demo)).toEqual(before)
    }
  )
})
