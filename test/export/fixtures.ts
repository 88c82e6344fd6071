// In-memory datasets for the export tests (the shape openDataset returns, without DICOM files).
import type { Dataset, DatasetImage, DatasetStudy } from '../../common/dataset'
import { STUDY_CLASSES, type ImageRecord, type OpacityBox, type StudyClass } from '../../common/domain'
import type { DecodedImage } from '../../common/pixels'
import { rng } from '../metric/fixtures'

export interface ImageSpec {
  imageId: string
  width: number
  height: number
  boxes: OpacityBox[]
}

export interface StudySpec {
  studyId: string
  cls: StudyClass | null
  images: ImageSpec[]
}

export function record(studyId: string, image: ImageSpec): ImageRecord {
  return {
    path: `train/${studyId}/series0/${image.imageId}.dcm`,
    studyId,
    seriesId: 'series0',
    imageId: image.imageId,
    sopInstanceUid: null,
    rows: image.height,
    columns: image.width,
    numberOfFrames: 1,
    samplesPerPixel: 1,
    bitsAllocated: 16,
    bitsStored: 12,
    highBit: 11,
    pixelRepresentation: 0,
    photometric: 'MONOCHROME2',
    transferSyntaxUid: '1.2.840.10008.1.2.1',
    modality: 'DX',
    pixelSpacing: null,
    windowCenter: null,
    windowWidth: null,
    rescaleSlope: 1,
    rescaleIntercept: 0,
    size: 0,
    mtimeMs: 0
  }
}

export function makeDataset(root: string, specs: StudySpec[]): Dataset {
  const images: DatasetImage[] = []
  const studies: DatasetStudy[] = []
  let line = 2
  for (const spec of specs) {
    for (const image of spec.images) {
      const label = image.boxes.length
        ? image.boxes.map((b) => `opacity 1 ${b.x} ${b.y} ${b.x + b.width} ${b.y + b.height}`).join(' ')
        : 'none 1 0 0 1 1'
      images.push({
        imageId: image.imageId,
        studyId: spec.studyId,
        seriesId: 'series0',
        split: 'train',
        record: record(spec.studyId, image),
        label: { imageId: image.imageId, studyId: spec.studyId, boxes: image.boxes, label, line: line++ }
      })
    }
    const classes = Object.fromEntries(STUDY_CLASSES.map((c) => [c, c === spec.cls ? 1 : 0])) as Record<
      StudyClass,
      0 | 1
    >
    studies.push({
      studyId: spec.studyId,
      split: 'train',
      label: { studyId: spec.studyId, classes, label: spec.cls, line: studies.length + 2 },
      imageIds: spec.images.map((i) => i.imageId)
    })
  }
  return {
    root,
    kaggleLayout: true,
    labelFiles: { study: 'train_study_level.csv', image: 'train_image_level.csv' },
    images,
    studies,
    fileErrors: [],
    labelErrors: []
  }
}

/** A random Kaggle-like dataset: `n` studies, classes skewed like the real set, 0-3 boxes per positive image. */
export function randomDataset(root: string, n: number, seed: number): Dataset {
  const r = rng(seed)
  const weights: Array<[StudyClass, number]> = [
    ['negative', 0.27],
    ['typical', 0.47],
    ['indeterminate', 0.18],
    ['atypical', 0.08]
  ]
  const specs: StudySpec[] = []
  for (let s = 0; s < n; s++) {
    let pick = r()
    const cls = weights.find(([, w]) => (pick -= w) < 0)?.[0] ?? 'typical'
    const images: ImageSpec[] = []
    for (let k = 0; k < (r() < 0.05 ? 2 : 1); k++) {
      const width = 900 + Math.floor(r() * 3000)
      const height = 900 + Math.floor(r() * 3000)
      const boxes: OpacityBox[] = []
      if (cls !== 'negative') {
        for (let b = Math.floor(r() * 4); b > 0; b--) {
          const x = Math.floor(r() * width * 0.7)
          const y = Math.floor(r() * height * 0.7)
          boxes.push({
            x,
            y,
            width: 10 + Math.floor(r() * width * 0.25),
            height: 10 + Math.floor(r() * height * 0.25)
          })
        }
      }
      images.push({ imageId: `img${seed}x${s}x${k}`, width, height, boxes })
    }
    specs.push({ studyId: `stu${seed}x${s}`, cls, images })
  }
  return makeDataset(root, specs)
}

/**
 * A decoder standing in for the DICOM pool in unit tests: a dark 12-bit image with every labelled
 * box filled bright (value 4000), so exported PNGs show where the boxes really are.
 */
export function boxPaintingDecoder(
  dataset: Dataset,
  photometric = 'MONOCHROME2'
): { decode(path: string): Promise<DecodedImage>; decoded: string[] } {
  const byPath = new Map(dataset.images.map((image) => [image.record!.path, image]))
  const decoded: string[] = []
  return {
    decoded,
    async decode(absPath: string) {
      const rel = absPath.slice(dataset.root.length + 1)
      const image = byPath.get(rel)
      if (!image) throw new Error(`${rel}: no such test image`)
      decoded.push(rel)
      const { columns, rows } = image.record!
      const pixels = new Uint16Array(columns * rows).fill(100)
      for (const b of image.label?.boxes ?? []) {
        for (let y = Math.round(b.y); y < Math.round(b.y + b.height); y++) {
          for (let x = Math.round(b.x); x < Math.round(b.x + b.width); x++) pixels[y * columns + x] = 4000
        }
      }
      return {
        rows,
        columns,
        bitsAllocated: 16,
        bitsStored: 12,
        highBit: 11,
        pixelRepresentation: 0,
        photometric,
        samplesPerPixel: 1,
        transferSyntaxUid: '1.2.840.10008.1.2.1',
        rescaleSlope: 1,
        rescaleIntercept: 0,
        windowCenter: [2048],
        windowWidth: [4096],
        voiLut: null,
        pixels
      }
    }
  }
}
