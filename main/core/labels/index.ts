// Label CSVs of the Kaggle layout: parsers, writers and the `file:line: reason` rendering of problems.
import type { ImageLabel, LabelError, StudyLabel } from '../../../common/dataset'
import { writeFileAtomic } from '../fs-atomic'
import { formatImageCsv } from './image-csv'
import { formatStudyCsv } from './study-csv'

export { parseStudyCsv, formatStudyCsv, STUDY_CSV_FILE, STUDY_CSV_HEADER, type StudyCsv } from './study-csv'
export { parseImageCsv, formatImageCsv, IMAGE_CSV_FILE, IMAGE_CSV_HEADER, type ImageCsv } from './image-csv'
export {
  edgesBeyond,
  formatBoxesField,
  formatLabelField,
  NONE_LABEL,
  OUTSIDE_TOLERANCE_PX,
  parseBoxesField,
  parseLabelField
} from './boxes'

/** `train_image_level.csv:17: boxes: expected ':' after key at column 12` */
export function formatLabelError(error: LabelError): string {
  return `${error.file}:${error.line}: ${error.reason}`
}

/** Writes a study-level label file atomically (never over a source dataset: the caller picks the path). */
export async function writeStudyCsv(path: string, labels: readonly StudyLabel[]): Promise<void> {
  await writeFileAtomic(path, formatStudyCsv(labels))
}

/** Writes an image-level label file atomically (never over a source dataset: the caller picks the path). */
export async function writeImageCsv(path: string, labels: readonly ImageLabel[]): Promise<void> {
  await writeFileAtomic(path, formatImageCsv(labels))
}
