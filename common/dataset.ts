// A labelled dataset: DICOM files (from the index) merged with the two Kaggle label CSVs.
import type { FileError, ImageRecord, OpacityBox, StudyClass } from './domain'

export type { FilterPolicy, Split } from './contract/schemas'
import type { Split } from './contract/schemas'

/** One row of train_study_level.csv. */
export interface StudyLabel {
  studyId: string
  /** One-hot values as given (0/1), keyed by study class. */
  classes: Record<StudyClass, 0 | 1>
  /** The class whose value is 1, or null when the row is not one-hot. */
  label: StudyClass | null
  /** 1-based line number in the CSV (the header is line 1). */
  line: number
}

/** One row of train_image_level.csv. */
export interface ImageLabel {
  imageId: string
  studyId: string
  /** Boxes in original DICOM pixels, from the `boxes` column (empty when the image has none). */
  boxes: OpacityBox[]
  /** The raw `label` column, e.g. `opacity 1 x1 y1 x2 y2 …` or `none 1 0 0 1 1`. */
  label: string
  line: number
}

/** A problem in a label CSV, reported as `file:line: reason` while the other rows still load. */
export interface LabelError {
  file: string
  line: number
  reason: string
}

export interface DatasetImage {
  imageId: string
  studyId: string
  seriesId: string
  split: Split
  /** Header facts of the DICOM file, or null when a CSV row names an image with no readable file. */
  record: ImageRecord | null
  /** The image's CSV row, or null when the file has none (every test image, unlabelled files). */
  label: ImageLabel | null
  /** Why its file could not be read, when `record` is null because the file exists but is broken. */
  fileError?: FileError
}

export interface DatasetStudy {
  studyId: string
  split: Split
  label: StudyLabel | null
  imageIds: string[]
}

export interface Dataset {
  root: string
  /** True when files sit at `train|test/<study>/<series>/<image>.dcm` or a label CSV is present. */
  kaggleLayout: boolean
  /** The label CSVs found at the root (file names), or null when absent: a folder without them is unlabelled. */
  labelFiles: { study: string | null; image: string | null }
  images: DatasetImage[]
  studies: DatasetStudy[]
  fileErrors: FileError[]
  labelErrors: LabelError[]
}

/** Which images of a multi-image study exports and training keep (the organisers' duplicate rule). */
export const FILTER_POLICIES = ['keep-boxed', 'keep-most-boxes', 'keep-all'] as const
