// Header-only reading of one DICOM file: reads a small prefix and grows it only until the pixel
// data element is reached, so indexing 4k x 4k images costs kilobytes per file, not megabytes.
import type { DataSet } from 'dicom-parser'
import { createHash } from 'node:crypto'
import { close, closeSync, fstat, fstatSync, open, openSync, read, readSync, type Stats } from 'node:fs'
import { promisify } from 'node:util'
import type { ImageRecord } from '../../../common/domain'
import { FileReadError, errorMessage } from '../errors'
import { inflateHeader } from './deflated'
import { checkImageFacts, imageFacts, text } from './facts'
import { PIXEL_DATA, parseUntilPixelData, readFileMeta, type ParseOutcome } from './parse'
import { TS, isNative, isSupportedTransferSyntax, unsupportedReason } from './transfer-syntax'

// plain fd calls: FileHandle objects cost about a third of the indexing time on small reads
const openFd = promisify(open)
const closeFd = promisify(close)
const fstatFd = promisify(fstat)
const readFd = (fd: number, buffer: Uint8Array, offset: number, length: number, position: number) =>
  new Promise<number>((resolve, reject) =>
    read(fd, buffer, offset, length, position, (err, bytesRead) => (err ? reject(err) : resolve(bytesRead)))
  )

/** Reads into `buffer` from the open file at `position`; returns the bytes read. */
type ReadAt = (
  buffer: Uint8Array,
  offset: number,
  length: number,
  position: number
) => number | Promise<number>

/**
 * How a header is read. 'async': thread-pool calls, which overlap when the disk is slow. 'sync':
 * system calls on this thread, for files in the page cache, where each call takes microseconds and a
 * thread-pool round trip costs ten times that (the indexer decides, see index-folder.ts).
 */
export type ReadMode = 'async' | 'sync'

const FIRST_CHUNK = 16 * 1024
const MAX_HEADER = 64 * 1024 * 1024

/** `[train/|test/]<study>/<series>/<image>.dcm`, the Kaggle SIIM-FISABIO-RSNA layout. */
const KAGGLE_PATH = /^(?:(?:train|test)\/)?([^/]+)\/([^/]+)\/([^/]+)\.dcm$/i

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

/**
 * Ids from a header (SOP Instance UID, else the file name) can repeat: one image exported twice, or
 * IM0001 in every series folder. Kaggle-path ids are the names the label CSVs and submissions use,
 * so they stay as they are (the quality report flags a repeat). Among the others, in path order, the
 * first keeps its id and each later one gets `~` and 8 hex digits of a hash of its own path: the id
 * then depends on that path alone and comes out the same at every re-index, whatever the order.
 */
export function distinctImageIds(records: readonly ImageRecord[]): ImageRecord[] {
  const byPath = [...records].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  const taken = new Set(byPath.filter((r) => KAGGLE_PATH.test(r.path)).map((r) => r.imageId))
  const renamed = new Map<ImageRecord, string>()
  for (const record of byPath) {
    if (KAGGLE_PATH.test(record.path)) continue
    let id = record.imageId
    if (taken.has(id)) {
      const hash = createHash('sha256').update(record.path).digest('hex')
      for (let n = 8; taken.has(id); n++)
        id = n <= hash.length ? `${record.imageId}~${hash.slice(0, n)}` : `${record.imageId}~${hash}~${n}`
      renamed.set(record, id)
    }
    taken.add(id)
  }
  return records.map((record) => {
    const id = renamed.get(record)
    return id === undefined ? record : { ...record, imageId: id }
  })
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
  readAt: ReadAt,
  prefix: Uint8Array,
  start: number,
  size: number,
  relPath: string
): Promise<void> {
  const head = new Uint8Array(8)
  const view = new DataView(head.buffer)
  const readItemHead = async (position: number) => {
    if (position + 8 <= prefix.length) head.set(prefix.subarray(position, position + 8))
    else if ((await readAt(head, 0, 8, position)) < 8) return false
    return true
  }
  const tag = () => [view.getUint16(0, true), view.getUint16(2, true)]
  if (size - 8 >= start && (await readItemHead(size - 8))) {
    const [group, element] = tag()
    if (group === 0xfffe && element === SEQUENCE_DELIMITER && view.getUint32(4, true) === 0) return
  }
  let position = start
  for (let item = 0; ; item++) {
    if (position + 8 > size || !(await readItemHead(position))) {
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
  known?: Pick<Stats, 'size' | 'mtimeMs'>,
  mode: ReadMode = 'async'
): Promise<ImageRecord> {
  return withFile(absPath, relPath, mode, async (readAt, fd) => {
    const stat = known ?? (mode === 'sync' ? fstatSync(fd) : await fstatFd(fd))
    const size = stat.size
    const { dataSet, transferSyntaxUid, prefix } = await readDataSetPrefix(readAt, size, relPath)
    const pixelData = dataSet.elements[PIXEL_DATA]
    if (!pixelData) throw new FileReadError(relPath, 'no pixel data (7FE0,0010): not an image')
    // an image that cannot be decoded is no use to the viewer or training: say so when indexing
    if (!isSupportedTransferSyntax(transferSyntaxUid))
      throw new FileReadError(relPath, unsupportedReason(transferSyntaxUid))
    const facts = imageFacts(dataSet)
    checkImageFacts(relPath, facts)
    // deflated data sets have offsets into the inflated bytes, so only the others can be checked here
    if (!isNative(transferSyntaxUid) && pixelData.hadUndefinedLength) {
      await checkEncapsulatedItems(readAt, prefix, pixelData.dataOffset, size, relPath)
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
  })
}

/**
 * The data set of `absPath` up to its pixel data element (for the viewer's tag panel), read the way
 * the indexer reads it: a growing prefix, and a deflated data set inflated only that far.
 */
export function readHeaderDataSet(
  absPath: string,
  relPath: string
): Promise<{ dataSet: DataSet; transferSyntaxUid: string }> {
  return withFile(absPath, relPath, 'async', async (readAt, fd) => {
    const { dataSet, transferSyntaxUid } = await readDataSetPrefix(readAt, (await fstatFd(fd)).size, relPath)
    return { dataSet, transferSyntaxUid }
  })
}

async function withFile<T>(
  absPath: string,
  relPath: string,
  mode: ReadMode,
  use: (readAt: ReadAt, fd: number) => Promise<T>
): Promise<T> {
  let fd: number
  try {
    fd = mode === 'sync' ? openSync(absPath, 'r') : await openFd(absPath, 'r')
  } catch (err) {
    throw new FileReadError(
      relPath,
      `cannot open: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}`
    )
  }
  const readAt: ReadAt =
    mode === 'sync'
      ? (buffer, offset, length, position) => readSync(fd, buffer, offset, length, position)
      : (buffer, offset, length, position) => readFd(fd, buffer, offset, length, position)
  try {
    return await use(readAt, fd)
  } finally {
    if (mode === 'sync') closeSync(fd)
    else await closeFd(fd)
  }
}

/**
 * Reads a prefix of the file, four times longer each time, until it holds the pixel data element.
 * Returns the data set up to there and the prefix read (the file's own bytes, never inflated ones).
 */
async function readDataSetPrefix(
  readAt: ReadAt,
  size: number,
  relPath: string
): Promise<{ dataSet: DataSet; transferSyntaxUid: string; prefix: Uint8Array }> {
  if (size === 0) throw new FileReadError(relPath, 'empty file (0 bytes)')
  let bytes = new Uint8Array(0)
  let want = Math.min(size, FIRST_CHUNK)
  for (;;) {
    const grown = new Uint8Array(want)
    grown.set(bytes)
    const bytesRead = await readAt(grown, bytes.length, want - bytes.length, bytes.length)
    bytes = grown.subarray(0, bytes.length + bytesRead)
    const complete = bytes.length >= size || bytesRead === 0
    const meta = readFileMeta(bytes, relPath, complete)
    let outcome: ParseOutcome
    if (meta !== 'more' && meta.transferSyntaxUid === TS.deflatedLittle) {
      const rest = fileFrom(readAt, meta.dataSetStart, size, bytes)
      outcome = await inflateHeader(bytes.subarray(0, meta.dataSetStart), rest, relPath)
    } else outcome = meta === 'more' ? 'more' : parseUntilPixelData(bytes, relPath, complete)
    if (outcome !== 'more') return { ...outcome, prefix: bytes }
    if (complete) throw new FileReadError(relPath, 'truncated file')
    if (want >= MAX_HEADER)
      throw new FileReadError(relPath, `no pixel data within the first ${MAX_HEADER >> 20} MB of the header`)
    want = Math.min(size, want * 4, MAX_HEADER)
  }
}

/** The file's bytes from `start` on: first those already read, then 64 kB reads as they are asked for. */
async function* fileFrom(
  readAt: ReadAt,
  start: number,
  size: number,
  read: Uint8Array
): AsyncGenerator<Uint8Array> {
  if (start < read.length) yield read.subarray(start)
  for (let position = Math.max(start, read.length); position < size;) {
    const piece = new Uint8Array(Math.min(64 * 1024, size - position))
    const bytesRead = await readAt(piece, 0, piece.length, position)
    if (bytesRead === 0) return
    yield piece.subarray(0, bytesRead)
    position += bytesRead
  }
}
