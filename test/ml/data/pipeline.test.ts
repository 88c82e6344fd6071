import { readdir, utimes } from 'node:fs/promises'
import { beforeAll, describe, expect, it } from 'vitest'
import { letterbox, renderDisplay } from '../../../common/pixels'
import { openDataset } from '../../../main/core/dataset'
import { decodeFile } from '../../../main/core/dicom/decode'
import { UserError } from '../../../main/core/errors'
import { DEFAULT_AUGMENT } from '../../../main/ml/data/augment'
import { BatchLoader } from '../../../main/ml/data/loader'
import { prepareTrainingData, type TrainingData } from '../../../main/ml/data/prepare'
import { modelBoxes, originalBox, trainingImages } from '../../../main/ml/data/samples'
import { TensorCache } from '../../../main/ml/data/tensor-cache'
import { countingSource, demoDataset, removeAllBoxes, tempDir } from '../helpers'

const SIZE = 128
let root: string
let workspace: string
let data: TrainingData
const source = countingSource()

beforeAll(async () => {
  root = await demoDataset({ studies: 12 })
  workspace = await tempDir('ws')
  data = await prepareTrainingData(root, {
    workspace,
    imageSize: SIZE,
    policy: 'keep-boxed',
    valFraction: 0.25,
    seed: 42,
    source
  })
})

describe('prepareTrainingData', () => {
  it('splits by study: no study on both sides, every class in validation', () => {
    const trainStudies = new Set(data.train.map((s) => s.studyId))
    for (const s of data.val) expect(trainStudies.has(s.studyId)).toBe(false)
    // 12 studies = 3 per class; 25% per class -> one study of each class in validation
    expect(new Set(data.val.map((s) => s.studyClass))).toEqual(
      new Set(['negative', 'typical', 'indeterminate', 'atypical'])
    )
    expect(data.train.length + data.val.length).toBe(trainingImages(data.dataset, 'keep-boxed').length)
  })

  it('caches one letterboxed uint8 file per image, identical to decode -> VOI -> letterbox', async () => {
    const files = await readdir(data.cache.dir)
    expect(files.filter((f) => f.endsWith('.u8'))).toHaveLength(data.train.length + data.val.length)
    const sample = data.train[0]
    const display = renderDisplay(await decodeFile(sample.absPath))
    const expected = letterbox(display, sample.width, sample.height, SIZE, SIZE).pixels
    expect(Buffer.from(await data.cache.load(sample)).equals(Buffer.from(expected))).toBe(true)
  })

  it('never decodes again once cached (a new cache object reads the files), and re-decodes a modified file', async () => {
    const before = source.calls
    const fresh = TensorCache.forDataset(workspace, root, SIZE, source)
    const all = [...data.train, ...data.val]
    await fresh.prepare(all)
    expect(source.calls).toBe(before)

    const touched = data.train[1]
    await utimes(touched.absPath, new Date(), new Date(Date.now() + 5000))
    const reopened = await openDataset(root, { workspace })
    const record = reopened.images.find((i) => i.imageId === touched.imageId)!.record!
    await fresh.load({ ...touched, mtimeMs: record.mtimeMs })
    expect(source.calls).toBe(before + 1)
  })

  it('refuses a dataset without a single box, saying why', async () => {
    const empty = await demoDataset({ studies: 4, testStudies: 1 })
    await removeAllBoxes(empty)
    const dataset = await openDataset(empty, { workspace })
    expect(() => trainingImages(dataset, 'keep-boxed')).toThrow(UserError)
    expect(() => trainingImages(dataset, 'keep-boxed')).toThrow(/hold no opacity boxes/)
  })
})

describe('boxes through the letterbox', () => {
  it('map to model pixels and back to the original DICOM pixels', () => {
    for (const sample of data.train) {
      const back = modelBoxes(sample, SIZE).map((b) => originalBox(b, sample, SIZE))
      sample.boxes.forEach((box, i) => {
        expect(back[i][0]).toBeCloseTo(box.x, 6)
        expect(back[i][1]).toBeCloseTo(box.y, 6)
        expect(back[i][2]).toBeCloseTo(box.x + box.width, 6)
        expect(back[i][3]).toBeCloseTo(box.y + box.height, 6)
      })
    }
  })

  it('match a hand computation for a wide image', () => {
    // 400 x 200 into 128: scale 0.32, image 128 x 64 placed at y offset 32
    const sample = {
      ...data.train[0],
      width: 400,
      height: 200,
      boxes: [{ x: 100, y: 50, width: 100, height: 100 }]
    }
    expect(modelBoxes(sample, SIZE)).toEqual([[32, 48, 64, 80]])
    expect(originalBox([32, 48, 64, 80], sample, SIZE)).toEqual([100, 50, 200, 150])
    // model boxes reaching into the padding are clipped to the image
    expect(originalBox([-10, 0, 140, 128], sample, SIZE)).toEqual([0, 0, 400, 200])
  })
})

describe('BatchLoader', () => {
  const collect = async (loader: BatchLoader, epoch: number, from = 0) => {
    const out = []
    for await (const batch of loader.batches(epoch, from)) out.push(batch)
    return out
  }

  it('is deterministic for a seed, reshuffles per epoch, and can start at any step (resume)', async () => {
    const options = { batchSize: 3, seed: 5, augment: DEFAULT_AUGMENT, shuffle: true }
    const a = await collect(new BatchLoader(data.train, data.cache, options), 2)
    const b = await collect(new BatchLoader(data.train, data.cache, options), 2)
    expect(a.map((x) => x.samples.map((s) => s.imageId))).toEqual(
      b.map((x) => x.samples.map((s) => s.imageId))
    )
    expect(Buffer.from(a[1].images.buffer).equals(Buffer.from(b[1].images.buffer))).toBe(true)
    expect(a[1].boxes).toEqual(b[1].boxes)

    const otherEpoch = await collect(new BatchLoader(data.train, data.cache, options), 3)
    expect(otherEpoch.map((x) => x.samples.map((s) => s.imageId))).not.toEqual(
      a.map((x) => x.samples.map((s) => s.imageId))
    )

    const resumed = await collect(new BatchLoader(data.train, data.cache, options), 2, 1)
    expect(resumed).toHaveLength(a.length - 1)
    expect(Buffer.from(resumed[0].images.buffer).equals(Buffer.from(a[1].images.buffer))).toBe(true)
  })

  it('augments training batches but not validation batches', async () => {
    const plain = await collect(
      new BatchLoader(data.train, data.cache, { batchSize: 4, seed: 1, augment: null, shuffle: false }),
      0
    )
    const first = data.train[0]
    const cached = await data.cache.load(first)
    expect(Array.from(plain[0].images.subarray(0, SIZE * SIZE), (v) => Math.round(v * 255))).toEqual(
      Array.from(cached)
    )
    expect(plain[0].boxes[0]).toEqual(modelBoxes(first, SIZE))
    const augmented = await collect(
      new BatchLoader(data.train, data.cache, {
        batchSize: 4,
        seed: 1,
        augment: DEFAULT_AUGMENT,
        shuffle: false
      }),
      0
    )
    expect(Buffer.from(augmented[0].images.buffer).equals(Buffer.from(plain[0].images.buffer))).toBe(false)
  })

  it('drops a shuffled last batch of one image (batch norm) but keeps it for validation', () => {
    const five = data.train.slice(0, 5)
    expect(
      new BatchLoader(five, data.cache, { batchSize: 2, seed: 0, augment: null, shuffle: true }).stepsPerEpoch
    ).toBe(2)
    expect(
      new BatchLoader(five, data.cache, { batchSize: 2, seed: 0, augment: null, shuffle: false })
        .stepsPerEpoch
    ).toBe(3)
  })
})
