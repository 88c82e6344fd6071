// Domain types shared by every process (plain TypeScript, no Node or DOM APIs).

/** The four study-level classes of the SIIM-FISABIO-RSNA challenge, in CSV column order. */
export const STUDY_CLASSES = ['negative', 'typical', 'indeterminate', 'atypical'] as const
export type { OpacityBox, Progress, StudyClass } from './contract/schemas'
import type { Progress } from './contract/schemas'

/** Column headers of train_study_level.csv, index-aligned with STUDY_CLASSES. */
export const STUDY_CSV_COLUMNS = [
  'Negative for Pneumonia',
  'Typical Appearance',
  'Indeterminate Appearance',
  'Atypical Appearance'
] as const

/**
 * Where study-row probabilities come from (main/ml/predict/study-level.ts): the study head; the
 * seed's box-majority rule; their mean (`combined`); a logistic regression on where and how many
 * boxes there are (`box-evidence`); or one on those box features and the head's probabilities
 * (`fused`). The last two are fitted per run (study-fusion.json).
 */
export const STUDY_FROM_CHOICES = ['study-head', 'box-majority', 'combined', 'box-evidence', 'fused'] as const
export type StudyFrom = (typeof STUDY_FROM_CHOICES)[number]

/** The six scored classes: four study classes (study rows) plus opacity and none (image rows). */
export const SCORED_CLASSES = [...STUDY_CLASSES, 'opacity', 'none'] as const
export type ScoredClass = (typeof SCORED_CLASSES)[number]

/** Header facts of one DICOM file, read without touching pixel data. */
export interface ImageRecord {
  /** Path relative to the dataset root, with forward slashes. */
  path: string
  studyId: string
  seriesId: string
  imageId: string
  sopInstanceUid: string | null
  rows: number
  columns: number
  numberOfFrames: number
  samplesPerPixel: number
  bitsAllocated: number
  bitsStored: number
  highBit: number
  pixelRepresentation: number
  photometric: string
  transferSyntaxUid: string
  modality: string | null
  pixelSpacing: [number, number] | null
  windowCenter: number[] | null
  windowWidth: number[] | null
  rescaleSlope: number
  rescaleIntercept: number
  /** File size and modification time, used to refresh the index cache. */
  size: number
  mtimeMs: number
}

/** A file that could not be indexed or decoded, with a reason a user can act on. */
export interface FileError {
  path: string
  reason: string
}

export interface DatasetIndex {
  root: string
  images: ImageRecord[]
  errors: FileError[]
}

export type ProgressListener = (progress: Progress) => void
