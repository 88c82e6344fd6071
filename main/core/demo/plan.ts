// Decides everything about a demo dataset before any pixel is drawn: ids, classes, boxes, pixel
// formats, transfer syntaxes and the quirks of the real data (duplicates, unboxed positives).
import type { Split } from '../../../common/dataset'
import { STUDY_CLASSES, type OpacityBox, type StudyClass } from '../../../common/domain'
import type { WriteSyntax } from '../dicom/write'
import type { Exposure } from './hard-pixels'
import type { PatientAnatomy, StudyPattern } from './hard-plan'
import { chestGeometry, lungExtent, type ChestGeometry, type LungSide, type Opacity } from './phantom'
import { Random } from './random'

export interface PixelFormat {
  bitsAllocated: 8 | 16
  bitsStored: number
  photometric: 'MONOCHROME1' | 'MONOCHROME2'
  /** Whether the file carries WindowCenter/WindowWidth (else viewers fall back to percentiles). */
  window: boolean
  rescale: { slope: number; intercept: number } | null
}

export interface PlannedImage {
  imageId: string
  seriesId: string
  studyId: string
  split: Split
  rows: number
  columns: number
  modality: 'DX' | 'CR'
  seriesNumber: number
  instanceNumber: number
  format: PixelFormat
  syntax: WriteSyntax
  geometry: ChestGeometry
  /** What is drawn into the pixels. */
  opacities: Opacity[]
  /** What the label CSV says (empty: `none 1 0 0 1 1`); always drawn opacities, possibly not all of them. */
  boxes: OpacityBox[]
  /** Set on a pixel-identical copy: the id of the image whose stored values it repeats. */
  duplicateOf: string | null
  /** Only in the hard demo (hard-plan.ts): what it draws beyond the default demo. */
  hard?: HardRendering
}

/** The hard demo's patient rotation, unboxed look-alikes, exposure and noise for one image. */
export interface HardRendering {
  /** Radians; the anatomy turns about the image centre, boxes stay axis-aligned around what was drawn. */
  rotation: number
  /** Benign structures drawn but never boxed: nipple and breast shadows. */
  mimics: Opacity[]
  exposure: Exposure
}

export interface PlannedStudy {
  studyId: string
  split: Split
  studyClass: StudyClass
  patientId: string
  patientSex: 'M' | 'F'
  studyDate: string
  studyTime: string
  images: PlannedImage[]
  /** Hard demo only: the location pattern its opacities follow, and the patient's anatomy. */
  pattern?: StudyPattern
  anatomy?: PatientAnatomy
}

export interface DemoQuirks {
  /** A boxed image and its pixel-identical copy in another series, labelled `none 1 0 0 1 1` (the organisers' duplicate rule). */
  duplicates: Array<{ split: Split; studyId: string; boxedImageId: string; duplicateImageId: string }>
  /** Positive studies whose only image has opacities drawn but no boxes in the CSV. */
  positiveWithoutBoxes: Array<{ split: Split; studyId: string; studyClass: StudyClass; imageId: string }>
  /** Every study with more than one image. */
  multiImageStudies: Array<{ split: Split; studyId: string; imageIds: string[] }>
}

export interface DemoPlan {
  studies: PlannedStudy[]
  images: PlannedImage[]
  quirks: DemoQuirks
}

/** Syntaxes spread over the demo; JPEG baseline forces an 8-bit image. */
const DEMO_SYNTAXES: WriteSyntax[] = [
  'explicit-le',
  'implicit-le',
  'explicit-be',
  'deflated',
  'rle',
  'jpeg-ls-lossless',
  'j2k-lossless',
  'jpeg-baseline'
]
const RESCALES = [
  { slope: 1, intercept: -1024 },
  { slope: 0.5, intercept: 100 },
  { slope: 2, intercept: -10 }
]

export function planDemo(seed: number, trainStudies: number, testStudies: number): DemoPlan {
  const ids = new IdSource(new Random(seed, 'ids'))
  const random = new Random(seed, 'plan')
  const studies: PlannedStudy[] = []
  const quirks: DemoQuirks = { duplicates: [], positiveWithoutBoxes: [], multiImageStudies: [] }

  for (const [split, count] of [
    ['train', trainStudies],
    ['test', testStudies]
  ] as const) {
    // balanced classes in a shuffled order: every class is present from four studies on
    const classes = random.shuffle(
      Array.from({ length: count }, (_, i) => STUDY_CLASSES[i % STUDY_CLASSES.length])
    )
    const firstOf = (c: StudyClass) => classes.indexOf(c)
    const duplicateAt = firstOf('typical')
    const severalAt = split === 'train' ? firstOf('indeterminate') : -1
    const unboxedAt = split === 'train' ? firstOf('atypical') : -1

    classes.forEach((studyClass, index) => {
      const study = newStudy(ids, random, split, studyClass)
      const seriesId = ids.next()
      const first = newImage(ids, random, study, seriesId, 1, 1)
      study.images.push(first)
      if (index === duplicateAt) {
        addDuplicate(study, first, ids, quirks)
      } else if (index === severalAt) {
        // a repeat acquisition with fewer boxes, and a similar image nobody boxed
        const repeat = newImage(ids, random, study, seriesId, 1, 2)
        repeat.opacities = repeat.opacities.slice(0, 1)
        repeat.boxes = repeat.boxes.slice(0, 1)
        const unlabelled = newImage(ids, random, study, ids.next(), 2, 1)
        unlabelled.boxes = []
        study.images.push(repeat, unlabelled)
      } else if (index === unboxedAt) {
        first.boxes = []
        quirks.positiveWithoutBoxes.push({
          split,
          studyId: study.studyId,
          studyClass,
          imageId: first.imageId
        })
      }
      if (study.images.length > 1)
        quirks.multiImageStudies.push({
          split,
          studyId: study.studyId,
          imageIds: study.images.map((i) => i.imageId)
        })
      studies.push(study)
    })
  }

  const images = studies.flatMap((s) => s.images)
  assignEncodings(images, random.fork('encodings'))
  return { studies, images, quirks }
}

/**
 * The organisers' duplicate quirk: a pixel-identical copy of `first` in a second series of its study,
 * labelled `none 1 0 0 1 1`, recorded in the quirks.
 */
export function addDuplicate(
  study: PlannedStudy,
  first: PlannedImage,
  ids: IdSource,
  quirks: DemoQuirks
): void {
  const copy: PlannedImage = {
    ...first,
    imageId: ids.next(),
    seriesId: ids.next(),
    seriesNumber: 2,
    boxes: [],
    duplicateOf: first.imageId
  }
  study.images.push(copy)
  quirks.duplicates.push({
    split: study.split,
    studyId: study.studyId,
    boxedImageId: first.imageId,
    duplicateImageId: copy.imageId
  })
}

export class IdSource {
  private readonly used = new Set<string>()
  constructor(private readonly random: Random) {}
  next(): string {
    for (;;) {
      const id = this.random.hex(12)
      if (!this.used.has(id)) {
        this.used.add(id)
        return id
      }
    }
  }
}

export function newStudy(ids: IdSource, random: Random, split: Split, studyClass: StudyClass): PlannedStudy {
  const day = new Date(Date.UTC(2020, 2, 1) + random.int(0, 440) * 86_400_000)
  return {
    studyId: ids.next(),
    split,
    studyClass,
    patientId: ids.next(),
    patientSex: random.chance(0.5) ? 'M' : 'F',
    studyDate: day.toISOString().slice(0, 10).replaceAll('-', ''),
    studyTime: `${String(random.int(0, 23)).padStart(2, '0')}${String(random.int(0, 59)).padStart(2, '0')}${String(random.int(0, 59)).padStart(2, '0')}`,
    images: []
  }
}

function newImage(
  ids: IdSource,
  random: Random,
  study: PlannedStudy,
  seriesId: string,
  seriesNumber: number,
  instanceNumber: number
): PlannedImage {
  // real CXRs are rarely square: portrait or landscape by up to 25%
  const columns = random.int(340, 620)
  let aspect = random.range(0.8, 1.25)
  if (Math.abs(aspect - 1) < 0.05) aspect += aspect < 1 ? -0.05 : 0.05
  const rows = Math.min(640, Math.max(320, Math.round(columns * aspect))) // never equal to columns (340..620)
  const geometry = chestGeometry(random)
  const opacities = placeOpacities(study.studyClass, geometry, rows, columns, random)
  return {
    imageId: ids.next(),
    seriesId,
    studyId: study.studyId,
    split: study.split,
    rows,
    columns,
    modality: random.chance(0.7) ? 'DX' : 'CR',
    seriesNumber,
    instanceNumber,
    format: { bitsAllocated: 16, bitsStored: 12, photometric: 'MONOCHROME2', window: true, rescale: null },
    syntax: 'explicit-le',
    geometry,
    opacities,
    boxes: opacities.map(({ x, y, width, height }) => ({ x, y, width, height })),
    duplicateOf: null
  }
}

interface NormalisedBox {
  u: number
  v: number
  w: number
  h: number
}

/** The pattern that makes each class learnable (see README.txt). */
function placeOpacities(
  studyClass: StudyClass,
  g: ChestGeometry,
  rows: number,
  columns: number,
  random: Random
): Opacity[] {
  const boxes: Array<NormalisedBox & { dense: boolean }> = []
  const patchy = (box: NormalisedBox) => boxes.push({ ...box, dense: false })
  const sides: LungSide[] = ['right', 'left']
  switch (studyClass) {
    case 'negative':
      break
    case 'typical': {
      // bilateral, peripheral, lower zone; sometimes one more higher up on the same periphery
      for (const side of sides) patchy(peripheralLowerBox(g, side, random))
      if (random.chance(0.35)) {
        const side = random.pick(sides)
        const lower = boxes[side === 'right' ? 0 : 1]
        const ext = lungExtent(g, side)
        const w = random.range(0.08, 0.11)
        const h = random.range(0.1, 0.14)
        const v = Math.max(ext.v0 + 0.12, lower.v - h - random.range(0.02, 0.05))
        patchy({
          u: side === 'right' ? ext.u0 + random.range(0.03, 0.05) : ext.u1 - w - random.range(0.03, 0.05),
          v,
          w,
          h
        })
      }
      break
    }
    case 'indeterminate': {
      if (random.chance(0.5)) {
        // unilateral, mid zone, one or two patches in one lung
        const ext = lungExtent(g, random.pick(sides))
        const count = random.int(1, 2)
        let v = ext.v0 + (ext.v1 - ext.v0) * random.range(0.3, 0.4)
        for (let i = 0; i < count; i++) {
          const w = random.range(0.08, 0.12)
          const h = random.range(0.1, 0.14)
          patchy({ u: ext.u0 + random.range(0.06, ext.u1 - ext.u0 - w - 0.04), v, w, h })
          v += h + random.range(0.02, 0.04)
        }
      } else {
        // central / perihilar, against the mediastinum on one or both sides
        const chosen = random.chance(0.5) ? sides : [random.pick(sides)]
        for (const side of chosen) {
          const ext = lungExtent(g, side)
          const w = random.range(0.07, 0.1)
          const h = random.range(0.12, 0.17)
          const v = ext.v0 + (ext.v1 - ext.v0) * random.range(0.28, 0.38)
          patchy({
            u: side === 'right' ? ext.u1 - w - random.range(0.005, 0.02) : ext.u0 + random.range(0.005, 0.02),
            v,
            w,
            h
          })
        }
      }
      break
    }
    case 'atypical': {
      // one dense, homogeneous, lobar consolidation in an upper or mid zone
      const ext = lungExtent(g, random.pick(sides))
      const w = random.range(0.1, 0.14)
      const h = random.range(0.12, 0.17)
      const v = ext.v0 + (ext.v1 - ext.v0) * random.range(0.12, 0.3)
      boxes.push({ u: ext.u0 + random.range(0.03, ext.u1 - ext.u0 - w - 0.03), v, w, h, dense: true })
      break
    }
  }
  return boxes.map((box) => ({
    x: round5(box.u * columns),
    y: round5(box.v * rows),
    width: round5(box.w * columns),
    height: round5(box.h * rows),
    density: box.dense ? random.range(0.42, 0.52) : random.range(0.36, 0.46),
    texture: box.dense ? 0.15 : 0.65,
    dense: box.dense
  }))
}

function peripheralLowerBox(g: ChestGeometry, side: LungSide, random: Random): NormalisedBox {
  const ext = lungExtent(g, side)
  const w = random.range(0.09, 0.13)
  const h = random.range(0.15, 0.22)
  const u = side === 'right' ? ext.u0 + random.range(0.015, 0.035) : ext.u1 - w - random.range(0.015, 0.035)
  return { u, v: ext.v1 - h - random.range(0.04, 0.08), w, h }
}

/** Kaggle's boxes carry five decimals. */
export function round5(value: number): number {
  return Math.round(value * 1e5) / 1e5
}

/** Spreads syntaxes and pixel formats over the images so every one of them occurs. */
export function assignEncodings(images: PlannedImage[], random: Random): void {
  const byId = new Map(images.map((image) => [image.imageId, image]))
  const cycle = random.shuffle([...DEMO_SYNTAXES])
  let next = 0
  for (const image of images) {
    const original = image.duplicateOf ? byId.get(image.duplicateOf)! : null
    if (original) {
      // the same stored values under another lossless syntax: only decoded pixels reveal the copy
      image.format = original.format
      image.syntax = original.syntax === 'explicit-le' ? 'rle' : 'explicit-le'
      continue
    }
    const isDuplicated = images.some((other) => other.duplicateOf === image.imageId)
    let syntax = cycle[next++ % cycle.length]
    if (isDuplicated && syntax === 'jpeg-baseline') syntax = cycle[next++ % cycle.length]
    const eightBit = syntax === 'jpeg-baseline' || random.chance(0.25)
    const roll = random.next()
    image.syntax = syntax
    image.format = {
      bitsAllocated: eightBit ? 8 : 16,
      bitsStored: eightBit ? 8 : roll < 0.1 ? 10 : roll < 0.2 ? 16 : 12,
      photometric: random.chance(image.modality === 'CR' ? 0.45 : 0.2) ? 'MONOCHROME1' : 'MONOCHROME2',
      window: random.chance(0.6),
      rescale: random.chance(0.3) ? random.pick(RESCALES) : null
    }
  }
}
