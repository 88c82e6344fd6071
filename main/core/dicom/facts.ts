// The image facts of a parsed data set that indexing, decoding and the inflate cap all read.
import type { DataSet } from 'dicom-parser'
import { FileReadError } from '../errors'

export function numbers(dataSet: DataSet, tag: string): number[] | null {
  const count = dataSet.numStringValues(tag)
  if (!count) return null
  const values: number[] = []
  for (let i = 0; i < count; i++) {
    const value = dataSet.floatString(tag, i)
    if (value !== undefined && Number.isFinite(value)) values.push(value)
  }
  return values.length ? values : null
}

export function text(dataSet: DataSet, tag: string): string | null {
  const value = dataSet.string(tag)?.replace(/\0/g, '').trim()
  return value ? value : null
}

/** Header facts of a parsed data set (shared by readHeader and the decoder). */
export function imageFacts(dataSet: DataSet) {
  const bitsAllocated = dataSet.uint16('x00280100') ?? 0
  const bitsStored = dataSet.uint16('x00280101') ?? bitsAllocated
  const spacing = numbers(dataSet, 'x00280030') ?? numbers(dataSet, 'x00181164')
  // an unreadable Number of Frames (not a number, 0, negative) means one frame, as for a missing one
  const frames = dataSet.intString('x00280008')
  return {
    rows: dataSet.uint16('x00280010') ?? 0,
    columns: dataSet.uint16('x00280011') ?? 0,
    numberOfFrames: frames !== undefined && Number.isFinite(frames) && frames > 1 ? frames : 1,
    samplesPerPixel: dataSet.uint16('x00280002') ?? 1,
    bitsAllocated,
    bitsStored,
    highBit: dataSet.uint16('x00280102') ?? bitsStored - 1,
    pixelRepresentation: dataSet.uint16('x00280103') ?? 0,
    photometric: text(dataSet, 'x00280004') ?? 'MONOCHROME2',
    modality: text(dataSet, 'x00080060'),
    pixelSpacing: spacing && spacing.length >= 2 ? ([spacing[0], spacing[1]] as [number, number]) : null,
    windowCenter: numbers(dataSet, 'x00281050'),
    windowWidth: numbers(dataSet, 'x00281051'),
    rescaleSlope: numbers(dataSet, 'x00281053')?.[0] || 1,
    rescaleIntercept: numbers(dataSet, 'x00281052')?.[0] ?? 0
  }
}

export type ImageFacts = ReturnType<typeof imageFacts>

/** Bytes of native pixel data the header declares: rows x columns x samples x bits allocated / 8 x frames. */
export function declaredPixelBytes(facts: ImageFacts): number {
  const frameBits = facts.rows * facts.columns * facts.samplesPerPixel * facts.bitsAllocated
  return Math.ceil(frameBits / 8) * facts.numberOfFrames
}

/** The facts every reader of pixels relies on; the indexer and the decoder refuse the same files. */
export function checkImageFacts(path: string, facts: ImageFacts): void {
  if (!facts.rows || !facts.columns)
    throw new FileReadError(path, 'no image size: Rows (0028,0010) or Columns (0028,0011) missing or 0')
  if (![1, 8, 16, 32].includes(facts.bitsAllocated))
    throw new FileReadError(path, `unsupported Bits Allocated ${facts.bitsAllocated}`)
  if (facts.bitsStored < 1 || facts.bitsStored > facts.bitsAllocated) {
    throw new FileReadError(
      path,
      `Bits Stored ${facts.bitsStored} does not fit Bits Allocated ${facts.bitsAllocated}`
    )
  }
}
