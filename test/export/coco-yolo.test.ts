import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { PNG } from 'pngjs'
import type { Dataset } from '../../common/dataset'
import { applyPolicy } from '../../main/core/dataset/policy'
import { exportCoco, type CocoDocument } from '../../main/core/export/coco'
import { importCoco, importedToSubmissionRows } from '../../main/core/export/coco-import'
import { exportYolo } from '../../main/core/export/yolo'
import { score } from '../../main/core/metric/score'
import { truthFromLabels } from '../../main/core/metric/truth'
import { box, buildDataset, imageRow, record, studyRow } from '../dataset/build'
import { boxPaintingDecoder, makeDataset, randomDataset } from './fixtures'

let work: string
let root: string
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'cxr-export-'))
  root = join(work, 'kaggle')
  mkdirSync(root)
})
afterEach(() => rmSync(work, { recursive: true, force: true }))

const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as CocoDocument

/** imageId -> boxes as [x, y, w, h] rounded to 1e-3 px, from the dataset's labels. */
function labelledBoxes(dataset: Dataset, imageIds: Iterable<string>): Map<string, number[][]> {
  const ids = new Set(imageIds)
  const r = (v: number) => Math.round(v * 1000) / 1000
  return new Map(
    dataset.images
      .filter((i) => ids.has(i.imageId))
      .map((i) => [i.imageId, (i.label?.boxes ?? []).map((b) => [b.x, b.y, b.width, b.height].map(r))])
  )
}

describe('COCO export', () => {
  it('writes train.json and val.json with every kept image once and boxes in original pixels', async () => {
    const dataset = randomDataset(root, 60, 11)
    const summary = await exportCoco(dataset, { outDir: join(work, 'coco') })
    const train = readJson(join(work, 'coco', 'train.json'))
    const val = readJson(join(work, 'coco', 'val.json'))
    expect(summary.files).toEqual(['train.json', 'val.json'])

    const names = [...train.images, ...val.images].map((i) => i.file_name)
    expect(new Set(names).size).toBe(names.length)
    expect(summary.subsets.train.images + summary.subsets.val.images).toBe(names.length)
    expect(val.images.length).toBeGreaterThan(0)
    expect(train.categories).toEqual([{ id: 1, name: 'opacity' }])

    const first = train.images.find((img) => train.annotations.some((a) => a.image_id === img.id))!
    const source = dataset.images.find((i) => first.file_name === i.record!.path)!
    expect([first.width, first.height]).toEqual([source.record!.columns, source.record!.rows])
    const bboxes = train.annotations.filter((a) => a.image_id === first.id).map((a) => a.bbox)
    expect(bboxes).toEqual(source.label!.boxes.map((b) => [b.x, b.y, b.width, b.height]))
    expect(
      train.annotations.every((a) => a.iscrowd === 0 && Math.abs(a.area - a.bbox[2] * a.bbox[3]) < 1e-3)
    ).toBe(true)
    expect(readdirSync(root)).toEqual([])
  })

  it('round-trips: importing the export gives the same boxes per image', async () => {
    const dataset = randomDataset(root, 40, 5)
    await exportCoco(dataset, { outDir: join(work, 'coco') })
    const imported = [
      ...(await importCoco(join(work, 'coco', 'train.json'))).images,
      ...(await importCoco(join(work, 'coco', 'val.json'))).images
    ]
    const r = (v: number) => Math.round(v * 1000) / 1000
    const back = new Map(
      imported.map((i) => [i.imageId, i.boxes.map((b) => [b.x, b.y, b.width, b.height].map(r))])
    )
    expect(back).toEqual(labelledBoxes(dataset, back.keys()))
    expect(back.size).toBe(applyPolicy(dataset, 'keep-boxed').length)
    expect([...back.values()].some((boxes) => boxes.length > 1)).toBe(true)
  })

  it('labels boxes with the study class when asked for study categories', async () => {
    const dataset = makeDataset(root, [
      {
        studyId: 'sa',
        cls: 'typical',
        images: [
          { imageId: 'ia', width: 1000, height: 800, boxes: [{ x: 10, y: 10, width: 100, height: 100 }] }
        ]
      },
      {
        studyId: 'sb',
        cls: 'atypical',
        images: [
          { imageId: 'ib', width: 1000, height: 800, boxes: [{ x: 20, y: 20, width: 50, height: 50 }] }
        ]
      }
    ])
    await exportCoco(dataset, { outDir: join(work, 'coco'), categories: 'study', valFraction: 0 })
    const train = readJson(join(work, 'coco', 'train.json'))
    expect(train.categories.map((c) => c.name)).toEqual(['negative', 'typical', 'indeterminate', 'atypical'])
    const nameOf = (imageId: string) => {
      const image = train.images.find((i) => i.file_name.includes(imageId))!
      return train.categories.find(
        (c) => c.id === train.annotations.find((a) => a.image_id === image.id)!.category_id
      )!.name
    }
    expect([nameOf('ia'), nameOf('ib')]).toEqual(['typical', 'atypical'])
  })

  it('carries the CSV box numbers unchanged, whatever their precision', async () => {
    // Kaggle's five decimals and a full float repr (as pandas writes computed boxes)
    const kaggle = { x: 789.28836, y: 582.43035, width: 1026.65662, height: 1917.30292 }
    const computed = {
      x: 392.30282380629194,
      y: 324.9767130747971,
      width: 291.968029818919,
      height: 108.46253421346006
    }
    const dataset = makeDataset(root, [
      {
        studyId: 'sa',
        cls: 'typical',
        images: [{ imageId: 'ia', width: 2544, height: 3056, boxes: [kaggle, computed] }]
      }
    ])
    await exportCoco(dataset, { outDir: join(work, 'coco'), valFraction: 0 })
    const doc = readJson(join(work, 'coco', 'train.json'))
    expect(doc.annotations.map((a) => a.bbox)).toEqual(
      [kaggle, computed].map((b) => [b.x, b.y, b.width, b.height])
    )
    expect(doc.annotations[0].area).toBe(kaggle.width * kaggle.height)
  })

  it('says which labelled images it leaves out: skipped CSV rows, unreadable and missing files', async () => {
    const dataset = buildDataset({
      files: [record('train/s1/r1/i1.dcm')],
      fileErrors: [{ path: 'train/s2/r2/i2.dcm', reason: 'truncated file' }],
      studyRows: [studyRow('s1', 'typical'), studyRow('s2', 'typical'), studyRow('s3', 'negative')],
      imageRows: [
        imageRow('i1', 's1', [box(10, 20, 30, 40)]),
        imageRow('i2', 's2', [box(10, 20, 30, 40)]),
        imageRow('i3', 's3'),
        `i4_image,"[{'x': 1.0 'y': 2.0}]",opacity 1 1 2 3 4,s1`
      ]
    })
    const summary = await exportCoco(dataset, { outDir: join(work, 'coco'), valFraction: 0 })
    expect(summary.subsets.train.images).toBe(1)
    expect(summary.errors.map((e) => `${e.path}: ${e.reason}`)).toEqual([
      "train_image_level.csv:5: boxes: expected ',' or '}' in dict, found ''' at column 12",
      'train/s2/r2/i2.dcm: truncated file; its labels are left out',
      'train_image_level.csv:4: no file for image i3; left out'
    ])
  })

  it('cuts boxes at the image border and refuses to write into the dataset folder', async () => {
    const dataset = makeDataset(root, [
      {
        studyId: 'sa',
        cls: 'typical',
        images: [
          { imageId: 'ia', width: 1000, height: 800, boxes: [{ x: 900, y: -50, width: 300, height: 200 }] }
        ]
      }
    ])
    const summary = await exportCoco(dataset, { outDir: join(work, 'coco'), valFraction: 0 })
    expect(summary.clippedBoxes).toBe(1)
    expect(readJson(join(work, 'coco', 'train.json')).annotations[0].bbox).toEqual([900, 0, 100, 150])
    await expect(exportCoco(dataset, { outDir: join(root, 'exports') })).rejects.toThrow(
      'must not be inside the dataset folder'
    )
    expect(existsSync(join(root, 'exports'))).toBe(false)
  })

  it('with images resized to N, scales boxes onto the exported pixels', async () => {
    const dataset = makeDataset(root, [
      {
        studyId: 'sa',
        cls: 'typical',
        images: [
          { imageId: 'ia', width: 2000, height: 1500, boxes: [{ x: 400, y: 300, width: 600, height: 900 }] }
        ]
      }
    ])
    const decoder = boxPaintingDecoder(dataset)
    const summary = await exportCoco(dataset, {
      outDir: join(work, 'coco'),
      valFraction: 0,
      images: { format: 'png8', size: 512 },
      decoder
    })
    expect(summary.images).toBe(1)
    const doc = readJson(join(work, 'coco', 'train.json'))
    expect(doc.images[0]).toMatchObject({
      file_name: 'images/train/ia.png',
      width: 512,
      height: 384,
      original_width: 2000,
      original_height: 1500
    })
    expect(doc.annotations[0].bbox).toEqual([102.4, 76.8, 153.6, 230.4])

    const png = PNG.sync.read(readFileSync(join(work, 'coco', 'images', 'train', 'ia.png')))
    expect([png.width, png.height]).toEqual([512, 384])
    const at = (x: number, y: number) => png.data[(y * png.width + x) * 4]
    // inside the scaled box bright, outside dark; the border pixels are averaged
    expect(at(104, 79)).toBeGreaterThan(200)
    expect(at(254, 305)).toBeGreaterThan(200)
    expect(at(100, 79)).toBeLessThan(50)
    expect(at(258, 305)).toBeLessThan(50)
    expect(at(180, 74)).toBeLessThan(50)
    expect(at(180, 309)).toBeLessThan(50)

    // and the boxes come back in original pixels
    const [image] = (await importCoco(join(work, 'coco', 'train.json'))).images
    expect(image.boxes[0]).toMatchObject({ x: 400, y: 300, width: 600, height: 900 })
  })

  it('writes 16-bit greyscale PNGs: the file window stretched to 0..65535, MONOCHROME1 inverted', async () => {
    const dataset = makeDataset(root, [
      {
        studyId: 'sa',
        cls: 'typical',
        images: [{ imageId: 'ia', width: 64, height: 48, boxes: [{ x: 8, y: 8, width: 16, height: 16 }] }]
      }
    ])
    await exportCoco(dataset, {
      outDir: join(work, 'coco'),
      valFraction: 0,
      images: { format: 'png16' },
      decoder: boxPaintingDecoder(dataset)
    })
    const bytes = readFileSync(join(work, 'coco', 'images', 'train', 'ia.png'))
    expect(bytes[24]).toBe(16) // IHDR bit depth
    expect(bytes[25]).toBe(0) // greyscale
    const png = PNG.sync.read(bytes, { skipRescale: true })
    const at = (x: number, y: number) => png.data[(y * png.width + x) * 4]
    // window 2048/4096 (PS3.3 C.11.2.1.2.1): 4000 -> ((4000 - 2047.5) / 4095 + 0.5) * 65535, 100 -> ...
    expect([at(10, 10), at(40, 40)]).toEqual([64015, 1600])

    await exportCoco(dataset, {
      outDir: join(work, 'coco1'),
      valFraction: 0,
      images: { format: 'png16' },
      decoder: boxPaintingDecoder(dataset, 'MONOCHROME1')
    })
    const inverted = PNG.sync.read(readFileSync(join(work, 'coco1', 'images', 'train', 'ia.png')), {
      skipRescale: true
    })
    expect([inverted.data[(10 * 64 + 10) * 4], inverted.data[(40 * 64 + 40) * 4]]).toEqual([
      65535 - 64015,
      65535 - 1600
    ])
  })

  it('leaves an undecodable image out with an error and exports the rest', async () => {
    const dataset = randomDataset(root, 6, 2)
    const decoder = boxPaintingDecoder(dataset)
    const broken = dataset.images[0].record!.path
    const failing = {
      decode: (p: string) =>
        p.endsWith(broken) ? Promise.reject(new Error('truncated pixel data')) : decoder.decode(p)
    }
    const summary = await exportCoco(dataset, {
      outDir: join(work, 'coco'),
      images: { format: 'png8', size: 64 },
      decoder: failing
    })
    expect(summary.errors).toEqual([{ path: broken, reason: 'not exported: truncated pixel data' }])
    expect(summary.images).toBe(dataset.images.length - 1)
    const names = [
      ...readJson(join(work, 'coco', 'train.json')).images,
      ...readJson(join(work, 'coco', 'val.json')).images
    ].map((i) => i.file_name)
    expect(names).toHaveLength(dataset.images.length - 1)
  })
})

describe('COCO results import', () => {
  it('turns a detector results file into submission rows that score perfectly when the boxes are right', async () => {
    const dataset = randomDataset(root, 30, 9)
    await exportCoco(dataset, {
      outDir: join(work, 'coco'),
      valFraction: 0.5,
      images: { format: 'png8', size: 256 },
      decoder: boxPaintingDecoder(dataset)
    })
    const val = readJson(join(work, 'coco', 'val.json'))
    // a perfect detector in the exported 256-px frame
    const results = val.annotations.map((a) => ({
      image_id: a.image_id,
      category_id: a.category_id,
      bbox: a.bbox,
      score: 0.9
    }))
    writeFileSync(join(work, 'results.json'), JSON.stringify(results))
    await expect(importCoco(join(work, 'results.json'))).rejects.toThrow(
      'also give the COCO file it refers to'
    )

    const imported = await importCoco(join(work, 'results.json'), {
      imagesJson: join(work, 'coco', 'val.json')
    })
    expect(imported.kind).toBe('results')
    const rows = importedToSubmissionRows(imported)
    const valIds = new Set(imported.images.map((i) => i.imageId))
    const { truth } = truthFromLabels(
      [],
      dataset.images.filter((i) => valIds.has(i.imageId)).map((i) => i.label!)
    )
    const report = score(truth, rows)
    expect(report.ap.opacity).toBe(1)
    expect(report.ap.none).toBe(1)
    expect(report.counts.unknownIds).toEqual([])
  })

  it('reports bad annotations and keeps the good ones', async () => {
    const doc = {
      images: [{ id: 1, file_name: 'images/val/abc.png', width: 100, height: 100 }],
      annotations: [
        { id: 1, image_id: 1, category_id: 1, bbox: [1, 2, 3, 4], area: 12, iscrowd: 0 },
        { id: 2, image_id: 7, category_id: 1, bbox: [1, 2, 3, 4], area: 12, iscrowd: 0 },
        { id: 3, image_id: 1, category_id: 1, bbox: [1, 2, -3, 4], area: 12, iscrowd: 0 }
      ],
      categories: [{ id: 1, name: 'opacity' }]
    }
    writeFileSync(join(work, 'gt.json'), JSON.stringify(doc))
    const imported = await importCoco(join(work, 'gt.json'))
    expect(imported.images).toEqual([
      {
        imageId: 'abc',
        studyId: null,
        width: 100,
        height: 100,
        boxes: [{ category: 'opacity', score: null, x: 1, y: 2, width: 3, height: 4 }]
      }
    ])
    expect(imported.warnings).toHaveLength(2)
    expect(imported.warnings[0]).toContain('image_id 7 is not in')
    writeFileSync(join(work, 'bad.json'), '{"images": 3}')
    await expect(importCoco(join(work, 'bad.json'))).rejects.toThrow(/bad\.json: not a COCO file \(images: /)
  })
})

describe('YOLO export', () => {
  it('writes the Ultralytics layout with normalised labels and dataset.yaml', async () => {
    const dataset = makeDataset(root, [
      {
        studyId: 'sa',
        cls: 'typical',
        images: [
          { imageId: 'ia', width: 1000, height: 500, boxes: [{ x: 100, y: 50, width: 200, height: 100 }] }
        ]
      },
      { studyId: 'sb', cls: 'negative', images: [{ imageId: 'ib', width: 800, height: 800, boxes: [] }] }
    ])
    const out = join(work, 'yolo')
    const summary = await exportYolo(dataset, {
      outDir: out,
      valFraction: 0,
      images: { format: 'png8', size: 200 },
      decoder: boxPaintingDecoder(dataset)
    })
    expect(summary.images).toBe(2)
    expect(readFileSync(join(out, 'labels', 'train', 'ia.txt'), 'utf8')).toBe('0 0.2 0.2 0.2 0.2\n')
    expect(readFileSync(join(out, 'labels', 'train', 'ib.txt'), 'utf8')).toBe('')
    expect(readdirSync(join(out, 'images', 'train')).sort()).toEqual(['ia.png', 'ib.png'])
    const yaml = readFileSync(join(out, 'dataset.yaml'), 'utf8')
    expect(yaml).toContain(
      `path: ${JSON.stringify(out)}\ntrain: images/train\nval: images/val\nnames:\n  0: opacity\n`
    )
    expect(PNG.sync.read(readFileSync(join(out, 'images', 'train', 'ia.png'))).width).toBe(200)
  })
})

describe('an export into a folder a killed export wrote to', () => {
  it('removes the temp files the kill left (and only ours) before writing', async () => {
    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8'
    })
    const dead = Number(child.stdout)
    const out = join(work, 'yolo')
    const leftovers = [
      join(out, `.dataset.yaml.${dead}-0123456789ab.tmp`),
      join(out, 'images', 'train', `.a1.png.${dead}-0123456789ab.tmp`),
      join(out, 'labels', 'val', `.a2.txt.${dead}-0123456789ab.tmp`)
    ]
    for (const path of leftovers) {
      mkdirSync(dirname(path), { recursive: true })
      writeFileSync(path, 'partial')
    }
    writeFileSync(join(out, 'notes.tmp'), 'the user’s')
    const dataset = randomDataset(root, 6, 3)
    await exportYolo(dataset, {
      outDir: out,
      images: { format: 'png8', size: 32 },
      decoder: boxPaintingDecoder(dataset)
    })
    expect(leftovers.filter((path) => existsSync(path))).toEqual([])
    expect(existsSync(join(out, 'notes.tmp'))).toBe(true)
    const all = readdirSync(out, { recursive: true }).map(String)
    expect(all.filter((name) => name.endsWith('.tmp'))).toEqual(['notes.tmp'])
  })
})
