// The hard demo (`cxr-studio demo --hard`): a benchmark where the study class is told apart only by
// *where* and *how many* faint opacities there are, with overlap between the classes as in the real
// data, on patients and exposures that vary. Everything is decided here before a pixel is drawn;
// hard-pixels.ts draws it.
//
// Class -> pattern probabilities (STUDY_PATTERNS; README.txt of the folder repeats them):
//   negative       none 1 (no opacity; look-alikes below may still be drawn)
//   typical        bilateral-peripheral .75, unilateral-peripheral .12, single-peripheral .08, central+peripheral .05
//   indeterminate  single-peripheral .30, unilateral-peripheral .25, central+peripheral .30, single-central .15
//   atypical       single-central .55, central .35, central+peripheral .10
// Patterns (what is drawn):
//   bilateral-peripheral   2 (.5), 3 (.35) or 4 (.15) opacities, both lungs, peripheral
//   unilateral-peripheral  2 (.8) or 3 (.2) peripheral opacities in one lung
//   single-peripheral      1 peripheral opacity
//   single-central         1 central (perihilar) opacity
//   central                2 central opacities, both lungs (.4) or one
//   central+peripheral     1 central and 1 (.6) or 2 peripheral opacities, sides at random
// Where an opacity goes, in a lung's own coordinates (s: 0 lateral edge .. 1 mediastinum;
// t: 0 apex .. 1 base), for its centre:
//   peripheral  s .04-.30, but for typical studies s .30-.55 with probability .15 (mid-lung);
//               t: typical lower zone .55-.88 with probability .75, else .30-.55;
//               other classes anywhere in .20-.85
//   central     s .68-.95, t .25-.60 (around the hilum)
// So a single peripheral opacity is typical or indeterminate, a single central one atypical or
// indeterminate, and only the zone statistics (and the class shares) tell them apart: the same
// pattern is drawn from either class by rule, as radiologists disagree on such studies.
// Sizes: 7-13% of the width, 8-16% of the height; ground glass with peak density .08-.16 against
// noise sigma .024-.04 (the default demo: solid patches of .36-.52 against .012).
// Look-alikes, never boxed and independent of the class: breast shadows (female patients, .6) and
// nipple shadows (.25).
// Class shares follow the real train set (negative .277, typical .472, indeterminate .173, atypical .078)
// with a floor of min(8, n/8) studies per class, so 120 train studies hold at least 8 atypical.
import type { Split } from '../../../common/dataset'
import { STUDY_CLASSES, type StudyClass } from '../../../common/domain'
import { randomExposure, rotatePoint } from './hard-pixels'
import { lungMask, type ChestGeometry, type LungSide, type Opacity } from './phantom'
import {
  addDuplicate,
  assignEncodings,
  IdSource,
  newStudy,
  round5,
  type DemoPlan,
  type DemoQuirks,
  type PlannedImage,
  type PlannedStudy
} from './plan'
import { Random } from './random'

/** Studies per class in the real train set (6,054 studies): the hard demo's class shares. */
const REAL_TRAIN_STUDIES: Record<StudyClass, number> = {
  negative: 1676,
  typical: 2855,
  indeterminate: 1049,
  atypical: 474
}
const REAL_TOTAL = Object.values(REAL_TRAIN_STUDIES).reduce((a, b) => a + b, 0)
export const HARD_CLASS_SHARES = Object.fromEntries(
  STUDY_CLASSES.map((c) => [c, REAL_TRAIN_STUDIES[c] / REAL_TOTAL])
) as Record<StudyClass, number>

export const STUDY_PATTERNS = [
  'none',
  'bilateral-peripheral',
  'unilateral-peripheral',
  'single-peripheral',
  'single-central',
  'central',
  'central+peripheral'
] as const
export type StudyPattern = (typeof STUDY_PATTERNS)[number]

/** P(pattern | class): the overlap between classes is the patterns they share. */
export const PATTERN_PROBABILITIES: Record<StudyClass, Partial<Record<StudyPattern, number>>> = {
  negative: { none: 1 },
  typical: {
    'bilateral-peripheral': 0.75,
    'unilateral-peripheral': 0.12,
    'single-peripheral': 0.08,
    'central+peripheral': 0.05
  },
  indeterminate: {
    'single-peripheral': 0.3,
    'unilateral-peripheral': 0.25,
    'central+peripheral': 0.3,
    'single-central': 0.15
  },
  atypical: { 'single-central': 0.55, central: 0.35, 'central+peripheral': 0.1 }
}

/** Share of positive train images left without boxes, as in the real data (6.6%). */
const UNBOXED_SHARE = 0.066
const MAX_ROTATION_DEGREES = 4

type Zone = 'peripheral' | 'central'

/** Study counts per class: the real shares by largest remainder, then a floor taken from the largest class. */
export function hardClassCounts(count: number): Record<StudyClass, number> {
  const exact = STUDY_CLASSES.map((c) => HARD_CLASS_SHARES[c] * count)
  const counts = exact.map(Math.floor)
  const byRemainder = STUDY_CLASSES.map((_, i) => i).sort(
    (a, b) => exact[b] - counts[b] - (exact[a] - counts[a]) || a - b
  )
  for (let k = 0; counts.reduce((s, n) => s + n, 0) < count; k++) counts[byRemainder[k % counts.length]]++
  const floor = count >= STUDY_CLASSES.length ? Math.max(1, Math.min(8, Math.floor(count / 8))) : 0
  for (let i = 0; i < counts.length; i++) {
    while (counts[i] < floor) {
      const largest = counts.indexOf(Math.max(...counts))
      counts[largest]--
      counts[i]++
    }
  }
  return Object.fromEntries(STUDY_CLASSES.map((c, i) => [c, counts[i]])) as Record<StudyClass, number>
}

export function planHardDemo(seed: number, trainStudies: number, testStudies: number): DemoPlan {
  const ids = new IdSource(new Random(seed, 'hard ids'))
  const random = new Random(seed, 'hard plan')
  const studies: PlannedStudy[] = []
  const quirks: DemoQuirks = { duplicates: [], positiveWithoutBoxes: [], multiImageStudies: [] }

  for (const [split, count] of [
    ['train', trainStudies],
    ['test', testStudies]
  ] as const) {
    const perClass = hardClassCounts(count)
    const classes = random.shuffle(STUDY_CLASSES.flatMap((c) => Array<StudyClass>(perClass[c]).fill(c)))
    const splitStudies = classes.map((studyClass) => {
      const study = newStudy(ids, random, split, studyClass)
      study.pattern = pickPattern(studyClass, random)
      study.anatomy = patientAnatomy(random, study)
      study.images.push(newHardImage(ids, random, study, ids.next(), 1, 1, study.anatomy))
      return study
    })
    addQuirks(splitStudies, split, ids, random, quirks)
    studies.push(...splitStudies)
  }
  const images = studies.flatMap((s) => s.images)
  assignEncodings(images, random.fork('encodings'))
  return { studies, images, quirks }
}

/** Duplicates, a study with several images and unboxed positives, in about the real proportions. */
function addQuirks(
  studies: PlannedStudy[],
  split: Split,
  ids: IdSource,
  random: Random,
  quirks: DemoQuirks
): void {
  const used = new Set<PlannedStudy>()
  const duplicates = studies
    .filter((s) => s.studyClass === 'typical')
    .slice(0, Math.max(1, Math.round(studies.length / 60)))
  for (const study of duplicates) {
    used.add(study)
    addDuplicate(study, study.images[0], ids, quirks)
  }
  if (split === 'train') {
    const several = studies.find((s) => s.studyClass === 'indeterminate' && !used.has(s))
    if (several) {
      used.add(several)
      // a repeat acquisition with only its first opacity boxed, and a similar image nobody boxed
      const first = several.images[0]
      const anatomy = several.anatomy!
      const repeat = newHardImage(ids, random, several, first.seriesId, 1, 2, anatomy)
      repeat.opacities = repeat.opacities.slice(0, 1)
      repeat.boxes = repeat.boxes.slice(0, 1)
      const unlabelled = newHardImage(ids, random, several, ids.next(), 2, 1, anatomy)
      unlabelled.boxes = []
      several.images.push(repeat, unlabelled)
    }
    const positives = studies.filter((s) => s.studyClass !== 'negative' && !used.has(s))
    // the first atypical study, as in the default demo, then typical and indeterminate ones in their
    // shuffled order (atypical studies are few: one unboxed is enough)
    const atypical = positives.find((s) => s.studyClass === 'atypical')
    const others = positives.filter((s) => s.studyClass !== 'atypical')
    const ordered = atypical ? [atypical, ...others] : others
    for (const study of ordered.slice(0, Math.max(1, Math.round(UNBOXED_SHARE * positives.length)))) {
      study.images[0].boxes = []
      quirks.positiveWithoutBoxes.push({
        split,
        studyId: study.studyId,
        studyClass: study.studyClass,
        imageId: study.images[0].imageId
      })
    }
  }
  for (const study of studies)
    if (study.images.length > 1)
      quirks.multiImageStudies.push({
        split,
        studyId: study.studyId,
        imageIds: study.images.map((i) => i.imageId)
      })
}

function pickPattern(studyClass: StudyClass, random: Random): StudyPattern {
  const roll = random.next()
  let cumulative = 0
  const entries = Object.entries(PATTERN_PROBABILITIES[studyClass]) as Array<[StudyPattern, number]>
  for (const [pattern, probability] of entries) {
    cumulative += probability
    if (roll < cumulative) return pattern
  }
  return entries[entries.length - 1][0]
}

export interface PatientAnatomy {
  geometry: ChestGeometry
  /** Look-alikes of this patient, drawn on each of their images and never boxed. */
  breastShadows: boolean
  nippleShadows: boolean
}

/** A patient's chest: lung size and position, mediastinum, heart, diaphragm and body width all vary. */
function patientAnatomy(random: Random, study: PlannedStudy): PatientAnatomy {
  const midline = 0.5 + random.range(-0.04, 0.04)
  const spread = random.range(0.17, 0.23)
  const rightHalfWidth = random.range(0.12, 0.17)
  const leftHalfWidth = random.range(0.11, 0.16)
  const lungBottom = random.range(0.72, 0.88)
  const heartHalfHeight = random.range(0.09, 0.14)
  const geometry: ChestGeometry = {
    midline,
    lungTop: random.range(0.08, 0.17),
    lungBottom,
    rightLung: { center: midline - spread, halfWidth: rightHalfWidth },
    leftLung: { center: midline + spread, halfWidth: leftHalfWidth },
    mediastinumHalfWidth: random.range(0.05, 0.085),
    heart: {
      u: midline + random.range(0.04, 0.09),
      v: lungBottom - 0.7 * heartHalfHeight,
      halfWidth: random.range(0.11, 0.17),
      halfHeight: heartHalfHeight
    },
    ribStart: random.range(0.09, 0.14),
    ribSpacing: random.range(0.058, 0.076),
    ribContrast: random.range(0.035, 0.06),
    lungEdge: random.range(0.015, 0.025),
    // the body always reaches past the lungs
    bodyHalfWidth: Math.max(random.range(0.38, 0.48), spread + Math.max(rightHalfWidth, leftHalfWidth) + 0.05)
  }
  return {
    geometry,
    breastShadows: study.patientSex === 'F' && random.chance(0.6),
    nippleShadows: random.chance(0.25)
  }
}

function newHardImage(
  ids: IdSource,
  random: Random,
  study: PlannedStudy,
  seriesId: string,
  seriesNumber: number,
  instanceNumber: number,
  anatomy: PatientAnatomy
): PlannedImage {
  // at least 512 px a side, so 256-px training is a real downscale; never square
  const columns = random.int(544, 720)
  let aspect = random.range(0.85, 1.2)
  if (Math.abs(aspect - 1) < 0.05) aspect += aspect < 1 ? -0.05 : 0.05
  const rows = Math.min(768, Math.max(512, Math.round(columns * aspect)))
  const rotation = (random.range(-MAX_ROTATION_DEGREES, MAX_ROTATION_DEGREES) * Math.PI) / 180
  const frame: Frame = { geometry: anatomy.geometry, rows, columns, rotation }
  const opacities = placeOpacities(study.pattern ?? 'none', study.studyClass, frame, random)
  const mimics = lookAlikes(anatomy, frame, random)
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
    geometry: anatomy.geometry,
    opacities,
    boxes: opacities.map(({ x, y, width, height }) => ({ x, y, width, height })),
    duplicateOf: null,
    hard: { rotation, mimics, exposure: randomExposure(random) }
  }
}

/** An image's size and the patient's anatomy and rotation in it. */
interface Frame {
  geometry: ChestGeometry
  rows: number
  columns: number
  rotation: number
}

/** A point of a lung (s: 0 lateral edge .. 1 mediastinum, t: 0 apex .. 1 base), normalised, upright. */
export function lungPoint(g: ChestGeometry, side: LungSide, s: number, t: number): { u: number; v: number } {
  const lung = side === 'right' ? g.rightLung : g.leftLung
  const outward = side === 'right' ? -1 : 1
  // the lung narrows towards the apex as phantom.ts's lungMask draws it
  const lateral = lung.center + outward * lung.halfWidth * (0.55 + 0.45 * Math.sqrt(t))
  const medial = g.midline + outward * g.mediastinumHalfWidth * (1 + 0.5 * t)
  return { u: lateral + s * (medial - lateral), v: g.lungTop + t * (g.lungBottom - g.lungTop) }
}

interface Placement {
  side: LungSide
  zone: Zone
}

function placeOpacities(
  pattern: StudyPattern,
  studyClass: StudyClass,
  frame: Frame,
  random: Random
): Opacity[] {
  const sides: LungSide[] = ['right', 'left']
  const other = (side: LungSide): LungSide => (side === 'right' ? 'left' : 'right')
  const placements: Placement[] = []
  const add = (side: LungSide, zone: Zone, count = 1) => {
    for (let i = 0; i < count; i++) placements.push({ side, zone })
  }
  const side = random.pick(sides)
  switch (pattern) {
    case 'none':
      break
    case 'bilateral-peripheral': {
      const count = weighted(random, [2, 0.5], [3, 0.35], [4, 0.15])
      add(side, 'peripheral')
      add(other(side), 'peripheral')
      for (let i = 2; i < count; i++) add(random.pick(sides), 'peripheral')
      break
    }
    case 'unilateral-peripheral':
      add(side, 'peripheral', weighted(random, [2, 0.8], [3, 0.2]))
      break
    case 'single-peripheral':
      add(side, 'peripheral')
      break
    case 'single-central':
      add(side, 'central')
      break
    case 'central':
      add(side, 'central')
      add(random.chance(0.4) ? other(side) : side, 'central')
      break
    case 'central+peripheral':
      add(side, 'central')
      add(random.pick(sides), 'peripheral', weighted(random, [1, 0.6], [2, 0.4]))
      break
  }
  const opacities: Opacity[] = []
  for (const placement of placements)
    opacities.push(placeOne(placement, studyClass, frame, opacities, random))
  return opacities
}

function weighted(random: Random, ...choices: Array<[number, number]>): number {
  let roll = random.next()
  for (const [value, probability] of choices) {
    if (roll < probability) return value
    roll -= probability
  }
  return choices[choices.length - 1][0]
}

/** One faint opacity in its zone, its centre in the lung field, moved (up to 8 tries) off the ones already placed. */
function placeOne(
  { side, zone }: Placement,
  studyClass: StudyClass,
  frame: Frame,
  placed: Opacity[],
  random: Random
): Opacity {
  let best: Opacity | null = null
  let bestOverlap = Infinity
  for (let attempt = 0; attempt < 8 && bestOverlap > 0.1; attempt++) {
    const { s, t } = zoneCoordinates(zone, studyClass, random)
    const w = random.range(0.07, zone === 'central' ? 0.1 : 0.13) * frame.columns
    const h = random.range(0.08, 0.16) * frame.rows
    const { u, v } = lungPoint(frame.geometry, side, s, t)
    const centre = rotatePoint(u * frame.columns, v * frame.rows, frame.rows, frame.columns, frame.rotation)
    const x = Math.min(frame.columns - w - 1, Math.max(1, centre.x - w / 2))
    const y = Math.min(frame.rows - h - 1, Math.max(1, centre.y - h / 2))
    const candidate: Opacity = {
      x: round5(x),
      y: round5(y),
      width: round5(w),
      height: round5(h),
      density: random.range(0.08, 0.16),
      texture: random.range(0.5, 0.8),
      dense: false,
      groundGlass: true
    }
    // a centre on the heart or below the diaphragm dome counts as a full overlap: try elsewhere
    const outsideLung = lungMask(frame.geometry, side, u, v) < 0.5 ? 1 : 0
    const overlap = outsideLung + Math.max(0, ...placed.map((o) => intersectionOverSmaller(o, candidate)))
    if (overlap < bestOverlap) {
      best = candidate
      bestOverlap = overlap
    }
  }
  return best!
}

function zoneCoordinates(zone: Zone, studyClass: StudyClass, random: Random): { s: number; t: number } {
  if (zone === 'central') return { s: random.range(0.68, 0.95), t: random.range(0.25, 0.6) }
  if (studyClass === 'typical') {
    const s = random.chance(0.15) ? random.range(0.3, 0.55) : random.range(0.04, 0.3)
    const t = random.chance(0.75) ? random.range(0.55, 0.88) : random.range(0.3, 0.55)
    return { s, t }
  }
  return { s: random.range(0.04, 0.3), t: random.range(0.2, 0.85) }
}

function intersectionOverSmaller(a: Opacity, b: Opacity): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x)
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y)
  if (w <= 0 || h <= 0) return 0
  return (w * h) / Math.min(a.width * a.height, b.width * b.height)
}

/** Breast shadows (broad, faint, lower and lateral) and nipple shadows (small round spots), both sides. */
function lookAlikes(anatomy: PatientAnatomy, frame: Frame, random: Random): Opacity[] {
  const mimics: Opacity[] = []
  const at = (
    side: LungSide,
    s: number,
    t: number,
    w: number,
    h: number,
    density: number,
    texture: number
  ) => {
    const { u, v } = lungPoint(frame.geometry, side, s, t)
    const centre = rotatePoint(u * frame.columns, v * frame.rows, frame.rows, frame.columns, frame.rotation)
    const width = Math.min(w, frame.columns - 2)
    const height = Math.min(h, frame.rows - 2)
    mimics.push({
      x: round5(Math.min(frame.columns - width - 1, Math.max(1, centre.x - width / 2))),
      y: round5(Math.min(frame.rows - height - 1, Math.max(1, centre.y - height / 2))),
      width: round5(width),
      height: round5(height),
      density,
      texture,
      dense: false,
      groundGlass: true
    })
  }
  for (const side of ['right', 'left'] as const) {
    if (anatomy.breastShadows)
      at(
        side,
        random.range(0.15, 0.3),
        random.range(0.82, 0.95),
        random.range(0.2, 0.26) * frame.columns,
        random.range(0.14, 0.2) * frame.rows,
        random.range(0.03, 0.06),
        0.1
      )
    if (anatomy.nippleShadows) {
      const size = random.range(0.022, 0.032) * frame.columns
      at(side, random.range(0.35, 0.55), random.range(0.75, 0.9), size, size, random.range(0.08, 0.14), 0)
    }
  }
  return mimics
}
