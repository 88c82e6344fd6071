// Header-only reading of one DICOM file: reads a small prefix and grows it only until the pixel
// data element is reached, so indexing 4k x 4k images costs kilobytes per file, not megabytes.
import type { DataSet } from 'dicom-parser'
import { close, fstat, open, read, type Stats } from 'node:fs'
import { promisify } from 'node:util'
import type { ImageRecord } from '../../../common/domain'
import { FileReadError, errorMessage } from '../errors'
import { PIXEL_DATA, parseUntilPixelData } from './parse'
import { TS, isNative, isSupportedTransferSyntax, unsupportedReason } from './transfer-syntax'

// plain fd calls: FileHandle objects cost about a third of the indexing time on small reads
const openFd = promisify(open)
const closeFd = promisify(close)
const fstatFd = promisify(fstat)
const readFd = (fd: number, buffer: Uint8Array, offset: number, length: number, position: number) =>
  new Promise<number>((resolve, reject) =>
    read(fd, buffer, offset, length, position, (err, bytesRead) => (err ? reject(err) : resolve(bytesRead)))
  )

const FIRST_CHUNK = 16 * 1024
const MAX_HEADER = 64 * 1024 * 1024

/** `[train/|test/]<study>/<series>/<image>.dcm`, the Kaggle SIIM-FISABIO-RSNA layout. */
const KAGGLE_PATH = /^(?:(?:train|test)\/)?([^/]+)\/([^/]+)\/([^/]+)\.dcm$/i

function numbers(dataSet: DataSet, tag: string): number[] | null {
  const count = dataSet.numStringValues(tag)
  if (!count) return null
  const values: number[] = []
  for (let i = 0; i < count; i++) {
    const value = dataSet.floatString(tag, i)
    if (value !== undefined && Number.isFinite(value)) values.push(value)
  }
  return values.length ? values : null
}

function text(dataSet: DataSet, tag: string): string | null {
  const value = dataSet.string(tag)?.replace(/\0/g, '').trim()
  return value ? value : null
}

/** Header facts of a parsed data set (shared by readHeader and the decoder). */
export function imageFacts(dataSet: DataSet) {
  const bitsAllocated = dataSet.uint16('x00280100') ?? 0
  const bitsStored = dataSet.uint16('x00280101') ?? bitsAllocated
  const spacing = numbers(dataSet, 'x00280030') ?? numbers(dataSet, 'x00181164')
  return {
    rows: dataSet.uint16('x00280010') ?? 0,
    columns: dataSet.uint16('x00280011') ?? 0,
    numberOfFrames: Math.max(1, dataSet.intString('x00280008') ?? 1),
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

/** Study/series/image ids: from a Kaggle-layout path, else from the UIDs, else from the file name. */
export function imageIds(
  relPath: string,
  dataSet: DataSet
): { studyId: string; seriesId: string; imageId: string } {
  const match = KAGGLE_PATH.exec(relPath)
  if (match) return { studyId: match[1], seriesId: match[2], imageId: match[3] }
  const fileStem = relPath
    .split('/')
    .pop()!
    .replace(/\.dcm$/i, '')
  return {
    studyId: text(dataSet, 'x0020000d') ?? 'unknown-study',
    seriesId: text(dataSet, 'x0020000e') ?? 'unknown-series',
    imageId: text(dataSet, 'x00080018') ?? fileStem
  }
}

function checkImage(path: string, facts: ReturnType<typeof imageFacts>): void {
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

const ITEM = 0xe000
const SEQUENCE_DELIMITER = 0xe0dd

/**
 * Encapsulated pixel data is a run of items ending in a sequence delimiter; a file cut inside a
 * fragment (an interrupted copy or download) lacks the end. Files normally end with the delimiter,
 * so one 8-byte read settles it; otherwise the item headers are walked (8 bytes each) to find
 * where the data stops.
 */
async function checkEncapsulatedItems(
  fd: number,
  prefix: Uint8Array,
  start: number,
  size: number,
  relPath: string
): Promise<void> {
  const head = new Uint8Array(8)
  const view = new DataView(head.buffer)
  const readAt = async (position: number) => {
    if (position + 8 <= prefix.length) head.set(prefix.subarray(position, position + 8))
    else if ((await readFd(fd, head, 0, 8, position)) < 8) return false
    return true
  }
  const tag = () => [view.getUint16(0, true), view.getUint16(2, true)]
  if (size - 8 >= start && (await readAt(size - 8))) {
    const [group, element] = tag()
    if (group === 0xfffe && element === SEQUENCE_DELIMITER && view.getUint32(4, true) === 0) return
  }
  let position = start
  for (let item = 0; ; item++) {
    if (position + 8 > size || !(await readAt(position))) {
      throw new FileReadError(
        relPath,
        `truncated file: the encapsulated pixel data ends after ${item} item(s) without its sequence delimiter (${size} bytes)`
      )
    }
    const [group, element] = tag()
    if (group === 0xfffe && element === SEQUENCE_DELIMITER) return
    if (group !== 0xfffe || element !== ITEM) {
      throw new FileReadError(
        relPath,
        `malformed encapsulated pixel data: expected an item (FFFE,E000) at byte ${position}, found (${hex4(group)},${hex4(element)})`
      )
    }
    const end = position + 8 + view.getUint32(4, true)
    if (end > size) {
      throw new FileReadError(
        relPath,
        `truncated file: pixel data item ${item + 1} needs ${end - position - 8} bytes, the file ends ${size - position - 8} bytes after its start`
      )
    }
    position = end
  }
}

function hex4(n: number): string {
  return n.toString(16).toUpperCase().padStart(4, '0')
}

/**
 * Reads the header of `absPath`; `relPath` (forward slashes, relative to the dataset root) names it
 * in the record and in errors. Throws FileReadError for anything that is not an image this app can
 * decode (including an unsupported transfer syntax).
 */
export function readHeader(absPath: string, relPath: string): Promise<ImageRecord> {
  return readHeaderWithStat(absPath, relPath)
}

/** readHeader for callers that already have the file's stat (the indexer), saving one system call. */
export async function readHeaderWithStat(
  absPath: string,
  relPath: string,
  known?: Pick<Stats, 'size' | 'mtimeMs'>
): Promise<ImageRecord> {
  let fd: number
  try {
    fd = await openFd(absPath, 'r')
  } catch (err) {
    throw new FileReadError(
      relPath,
      `cannot open: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}`
    )
  }
  try {
    const stat = known ?? (await fstatFd(fd))
    const size = stat.size
    if (size === 0) throw new FileReadError(relPath, 'empty file (0 bytes)')
    let bytes = new Uint8Array(0)
    let want = Math.min(size, FIRST_CHUNK)
    for (;;) {
      const grown = new Uint8Array(want)
      grown.set(bytes)
      const bytesRead = await readFd(fd, grown, bytes.length, want - bytes.length, bytes.length)
      bytes = grown.subarray(0, bytes.length + bytesRead)
      const complete = bytes.length >= size || bytesRead === 0
      const outcome = parseUntilPixelData(bytes, relPath, complete)
      if (outcome !== 'more') {
        const { dataSet, transferSyntaxUid } = outcome
        const pixelData = dataSet.elements[PIXEL_DATA]
        if (!pixelData) throw new FileReadError(relPath, 'no pixel data (7FE0,0010): not an image')
        // an image that cannot be decoded is no use to the viewer or training: say so when indexing
        if (!isSupportedTransferSyntax(transferSyntaxUid))
          throw new FileReadError(relPath, unsupportedReason(transferSyntaxUid))
        const facts = imageFacts(dataSet)
        checkImage(relPath, facts)
        // deflated data sets have offsets into the inflated bytes, so only the others can be checked here
        if (!isNative(transferSyntaxUid) && pixelData.hadUndefinedLength) {
          await checkEncapsulatedItems(fd, bytes, pixelData.dataOffset, size, relPath)
        } else if (
          isNative(transferSyntaxUid) &&
          transferSyntaxUid !== TS.deflatedLittle &&
          !pixelData.hadUndefinedLength
        ) {
          const frameBytes = Math.ceil(
            (facts.rows * facts.columns * facts.samplesPerPixel * facts.bitsAllocated) / 8
          )
          if (pixelData.dataOffset + frameBytes > size) {
            throw new FileReadError(
              relPath,
              `truncated file: pixel data needs ${frameBytes} bytes, file ends ${size - pixelData.dataOffset} bytes after its start`
            )
          }
        }
        return {
          path: relPath,
          ...imageIds(relPath, dataSet),
          sopInstanceUid: text(dataSet, 'x00080018'),
          ...facts,
          transferSyntaxUid,
          size,
          mtimeMs: stat.mtimeMs
        }
      }
      if (complete) throw new FileReadError(relPath, 'truncated file')
      if (want >= MAX_HEADER)
        throw new FileReadError(
          relPath,
          `no pixel data within the first ${MAX_HEADER >> 20} MB of the header`
        )
      want = Math.min(size, want * 4, MAX_HEADER)
    }
  } finally {
    await closeFd(fd)
  }
}
