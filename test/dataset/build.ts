// Builds small in-memory datasets for the dataset, quality and EDA tests (no DICOM files needed).
import type { Dataset } from '../../common/dataset'
import type { FileError, ImageRecord, OpacityBox } from '../../common/domain'
import { mergeDataset } from '../../main/core/dataset/merge'
import { IMAGE_CSV_FILE, parseImageCsv, parseStudyCsv, STUDY_CSV_FILE } from '../../main/core/labels'
import { formatBoxesField, formatLabelField } from '../../main/core/labels/boxes'

/** A header record for `train|test/<study>/<series>/<image>.dcm` (the Kaggle layout). */
export function record(path: string, overrides: Partial<ImageRecord> = {}): ImageRecord {
  const [, studyId, seriesId, file] = path.split('/')
  return {
    path,
    studyId,
    seriesId,
    imageId: file.replace(/\.dcm$/, ''),
    sopInstanceUid: null,
    rows: 2000,
    columns: 2500,
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
    size: 1000,
    mtimeMs: 1,
    ...overrides
  }
}

/** One train_image_level.csv row in the Kaggle format. */
export function imageRow(imageId: string, studyId: string, boxes: OpacityBox[] = []): string {
  const literal = formatBoxesField(boxes)
  return `${imageId}_image,${literal ? `"${literal}"` : ''},${formatLabelField(boxes)},${studyId}`
}

const CLASS_COLUMNS = {
  negative: '1,0,0,0',
  typical: '0,1,0,0',
  indeterminate: '0,0,1,0',
  atypical: '0,0,0,1'
}

/** One train_study_level.csv row. */
export function studyRow(studyId: string, cls: keyof typeof CLASS_COLUMNS): string {
  return `${studyId}_study,${CLASS_COLUMNS[cls]}`
}

export const box = (x: number, y: number, width: number, height: number): OpacityBox => ({
  x,
  y,
  width,
  height
})

export function studyCsvText(rows: string[]): string {
  return (
    [
      'id,Negative for Pneumonia,Typical Appearance,Indeterminate Appearance,Atypical Appearance',
      ...rows
    ].join('\n') + '\n'
  )
}

export function imageCsvText(rows: string[]): string {
  return ['id,boxes,label,StudyInstanceUID', ...rows].join('\n') + '\n'
}

/** Merges records with CSV rows exactly as openDataset does after indexing (null = the CSV is absent). */
export function buildDataset(input: {
  files: ImageRecord[]
  studyRows?: string[] | null
  imageRows?: string[] | null
  fileErrors?: FileError[]
}): Dataset {
  const study = input.studyRows
    ? { file: STUDY_CSV_FILE, ...parseStudyCsv(studyCsvText(input.studyRows)) }
    : null
  const image = input.imageRows
    ? { file: IMAGE_CSV_FILE, ...parseImageCsv(imageCsvText(input.imageRows)) }
    : null
  return mergeDataset(
    { root: '/data/cxr', images: input.files, errors: input.fileErrors ?? [] },
    { study, image }
  )
}
