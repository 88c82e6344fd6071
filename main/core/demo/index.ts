// `generateDemo`: a small synthetic SIIM-FISABIO-RSNA dataset in the exact Kaggle layout, so every
// feature can be tried (and tested) without the 120 GB download.
import { mkdir, readFile, readdir, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Split } from '../../../common/dataset'
import { STUDY_CLASSES, type ProgressListener, type StudyClass } from '../../../common/domain'
import { UserError, errorMessage } from '../errors'
import { writeFileAtomic } from '../fs-atomic'
import { WRITE_SYNTAX_NAMES, writeDicom, type WriteSyntax } from '../dicom/write'
import { imageLevelCsv, sampleSubmissionCsv, studyLevelCsv } from './csv'
import { planHardDemo, type StudyPattern } from './hard-plan'
import { planDemo, type DemoPlan, type DemoQuirks, type PlannedImage, type PlannedStudy } from './plan'
import type { StoredImage } from './pixels'
import { DEMO_README, DEMO_README_TITLE, demoReadme } from './readme'
import { renderStoredPixels } from './render'

export type { DemoQuirks } from './plan'

export interface DemoOptions {
  /** The hard benchmark variant (hard-plan.ts): faint opacities, classes by location, varied patients and exposures. */
  hard?: boolean
  /** Train studies (default 40; hard 120). */
  studies?: number
  /** Test studies (default 12; hard 60). */
  testStudies?: number
  seed?: number
  onProgress?: ProgressListener
  signal?: AbortSignal
}

export interface DemoSplitSummary {
  studies: number
  images: number
  boxes: number
  imagesWithBoxes: number
  studiesPerClass: Record<StudyClass, number>
}

export interface DemoSummary {
  outDir: string
  seed: number
  splits: Record<Split, DemoSplitSummary>
  /** Images per transfer syntax. */
  transferSyntaxes: Partial<Record<WriteSyntax, number>>
  pixelFormats: {
    bits16: number
    bits8: number
    monochrome1: number
    withWindow: number
    withRescale: number
  }
  quirks: DemoQuirks
  /** Files written (DICOM, CSV, README) and their total size. */
  files: number
  bytes: number
  /** Only for the hard variant: how many studies of each class drew each location pattern. */
  hard?: { patterns: Record<Split, Record<StudyClass, Partial<Record<StudyPattern, number>>>> }
}

export const DEMO_DEFAULTS = { studies: 40, testStudies: 12, seed: 42 } as const
export const HARD_DEMO_DEFAULTS = { studies: 120, testStudies: 60, seed: 42 } as const
export const DEMO_LIMITS = { studies: [4, 2000], testStudies: [1, 1000] } as const

/** Files and folders a demo folder holds; a non-empty folder with anything else is never overwritten. */
const DEMO_ENTRIES = new Set([
  'train',
  'test',
  'train_study_level.csv',
  'train_image_level.csv',
  'sample_submission.csv',
  'test_study_level.csv',
  'test_image_level.csv',
  DEMO_README
])

/** The DICOM UID of a 12-hex Kaggle id: `2.25.` + the id as a decimal number (see README.txt). */
export function uidFromId(id: string): string {
  return `2.25.${BigInt(`0x${id}`).toString()}`
}

export async function generateDemo(outDir: string, options: DemoOptions = {}): Promise<DemoSummary> {
  const defaults = options.hard ? HARD_DEMO_DEFAULTS : DEMO_DEFAULTS
  const studies = checkCount('studies', options.studies ?? defaults.studies, DEMO_LIMITS.studies)
  const testStudies = checkCount(
    'test studies',
    options.testStudies ?? defaults.testStudies,
    DEMO_LIMITS.testStudies
  )
  const seed = options.seed ?? defaults.seed
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw new UserError(`seed must be an integer from 0 to 4294967295, got ${seed}`)

  const plan = options.hard ? planHardDemo(seed, studies, testStudies) : planDemo(seed, studies, testStudies)
  const summary = summarise(outDir, seed, plan)
  await prepareOutDir(outDir)

  let bytes = 0
  const write = async (relative: string, data: string | Uint8Array) => {
    await writeFileAtomic(join(outDir, relative), data)
    bytes += typeof data === 'string' ? Buffer.byteLength(data) : data.length
  }
  // README first: a demo interrupted half-way is still recognised, and rewritten, by the next run
  await write(DEMO_README, demoReadme(summary))

  const studyOf = new Map(plan.studies.map((s) => [s.studyId, s]))
  const duplicated = new Set(plan.images.map((i) => i.duplicateOf).filter((id): id is string => id !== null))
  const storedById = new Map<string, StoredImage>()
  const progress = { stage: 'demo images', done: 0, total: plan.images.length }
  options.onProgress?.({ ...progress })
  for (const image of plan.images) {
    options.signal?.throwIfAborted()
    const stored = image.duplicateOf ? storedById.get(image.duplicateOf)! : renderStoredPixels(seed, image)
    if (duplicated.has(image.imageId)) storedById.set(image.imageId, stored)
    await write(
      `${image.split}/${image.studyId}/${image.seriesId}/${image.imageId}.dcm`,
      await encodeImage(image, studyOf.get(image.studyId)!, stored)
    )
    progress.done++
    options.onProgress?.({ ...progress })
  }

  for (const split of ['train', 'test'] as const) {
    const splitStudies = plan.studies.filter((s) => s.split === split)
    const splitImages = plan.images.filter((i) => i.split === split)
    await write(`${split}_study_level.csv`, studyLevelCsv(splitStudies))
    await write(`${split}_image_level.csv`, imageLevelCsv(splitImages))
    if (split === 'test') {
      await write(
        'sample_submission.csv',
        sampleSubmissionCsv(
          splitStudies.map((s) => s.studyId),
          splitImages.map((i) => i.imageId)
        )
      )
    }
  }
  return { ...summary, files: plan.images.length + 6, bytes }
}

function checkCount(name: string, value: number, [min, max]: readonly [number, number]): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new UserError(`${name} must be an integer from ${min} to ${max}, got ${value}`)
  }
  return value
}

function encodeImage(image: PlannedImage, study: PlannedStudy, stored: StoredImage): Promise<Uint8Array> {
  const { format } = image
  return writeDicom(
    {
      rows: image.rows,
      columns: image.columns,
      bitsAllocated: format.bitsAllocated,
      bitsStored: format.bitsStored,
      pixelRepresentation: 0,
      photometric: format.photometric,
      pixels: stored.pixels,
      rescaleSlope: format.rescale?.slope,
      rescaleIntercept: format.rescale?.intercept,
      windowCenter: stored.windowCenter,
      windowWidth: stored.windowWidth,
      studyInstanceUid: uidFromId(study.studyId),
      seriesInstanceUid: uidFromId(image.seriesId),
      sopInstanceUid: uidFromId(image.imageId),
      modality: image.modality,
      patientId: study.patientId,
      patientName: `DEMO^${study.patientId}`,
      patientSex: study.patientSex,
      studyDate: study.studyDate,
      studyTime: study.studyTime,
      studyId: study.studyId,
      seriesNumber: image.seriesNumber,
      instanceNumber: image.instanceNumber,
      bodyPartExamined: 'CHEST',
      viewPosition: 'PA',
      // a chest is about 35 cm wide
      pixelSpacing: [Number((350 / image.columns).toFixed(4)), Number((350 / image.columns).toFixed(4))]
    },
    image.syntax
  )
}

function summarise(outDir: string, seed: number, plan: DemoPlan): DemoSummary {
  const split = (name: Split): DemoSplitSummary => {
    const studies = plan.studies.filter((s) => s.split === name)
    const images = plan.images.filter((i) => i.split === name)
    const studiesPerClass = Object.fromEntries(
      STUDY_CLASSES.map((c) => [c, studies.filter((s) => s.studyClass === c).length])
    ) as Record<StudyClass, number>
    return {
      studies: studies.length,
      images: images.length,
      boxes: images.reduce((sum, i) => sum + i.boxes.length, 0),
      imagesWithBoxes: images.filter((i) => i.boxes.length > 0).length,
      studiesPerClass
    }
  }
  const transferSyntaxes: Partial<Record<WriteSyntax, number>> = {}
  for (const syntax of WRITE_SYNTAX_NAMES) {
    const count = plan.images.filter((i) => i.syntax === syntax).length
    if (count > 0) transferSyntaxes[syntax] = count
  }
  const formats = plan.images.map((i) => i.format)
  return {
    outDir,
    seed,
    splits: { train: split('train'), test: split('test') },
    transferSyntaxes,
    pixelFormats: {
      bits16: formats.filter((f) => f.bitsAllocated === 16).length,
      bits8: formats.filter((f) => f.bitsAllocated === 8).length,
      monochrome1: formats.filter((f) => f.photometric === 'MONOCHROME1').length,
      withWindow: formats.filter((f) => f.window).length,
      withRescale: formats.filter((f) => f.rescale !== null).length
    },
    quirks: plan.quirks,
    files: 0,
    bytes: 0,
    ...(plan.studies.some((s) => s.pattern) ? { hard: { patterns: patternCounts(plan) } } : {})
  }
}

function patternCounts(plan: DemoPlan): NonNullable<DemoSummary['hard']>['patterns'] {
  const counts = (split: Split) =>
    Object.fromEntries(
      STUDY_CLASSES.map((studyClass) => {
        const perPattern: Partial<Record<StudyPattern, number>> = {}
        for (const study of plan.studies)
          if (study.split === split && study.studyClass === studyClass && study.pattern)
            perPattern[study.pattern] = (perPattern[study.pattern] ?? 0) + 1
        return [studyClass, perPattern]
      })
    ) as Record<StudyClass, Partial<Record<StudyPattern, number>>>
  return { train: counts('train'), test: counts('test') }
}

/** Creates the folder, or empties it when it holds a previous demo; refuses any other non-empty folder. */
async function prepareOutDir(outDir: string): Promise<void> {
  let entries: string[]
  try {
    if (!(await stat(outDir)).isDirectory()) throw new UserError(`${outDir}: exists and is not a folder`)
    entries = await readdir(outDir)
  } catch (err) {
    if (err instanceof UserError) throw err
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new UserError(`${outDir}: cannot read the folder (${errorMessage(err)})`)
    await mkdir(outDir, { recursive: true }).catch((mkdirErr: unknown) => {
      throw new UserError(`${outDir}: cannot create the folder (${errorMessage(mkdirErr)})`)
    })
    return
  }
  if (entries.length === 0) return
  if (!(await isDemoFolder(outDir, entries))) {
    throw new UserError(
      `${outDir}: the folder is not empty and does not hold a CXR Studio demo; choose a new or empty folder`
    )
  }
  // studies of an earlier seed or size must not linger next to the new ones
  for (const entry of entries) await rm(join(outDir, entry), { recursive: true, force: true })
}

async function isDemoFolder(outDir: string, entries: string[]): Promise<boolean> {
  // leftovers of an interrupted atomic write (.name.random.tmp) belong to the demo too
  if (!entries.every((entry) => DEMO_ENTRIES.has(entry) || /^\..+\.tmp$/.test(entry))) return false
  try {
    return (await readFile(join(outDir, DEMO_README), 'utf8')).startsWith(DEMO_README_TITLE)
  } catch {
    return false
  }
}
