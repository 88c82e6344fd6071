// Parsing DICOM Part 10 bytes with dicom-parser, turning its string exceptions into FileReadErrors
// that say what is wrong with the file. Deflated data sets are inflated before they get here
// (deflated.ts), under a cap, so nothing in this module ever inflates.
import * as dicomParserModule from 'dicom-parser'
import type { DataSet } from 'dicom-parser'
import { FileReadError, errorMessage } from '../errors'
import { TS } from './transfer-syntax'

export const PIXEL_DATA = 'x7fe00010'

// dicom-parser is a UMD bundle: Node's ESM loader exposes it only as the default export.
export const dicomParser = ((dicomParserModule as unknown as { default?: typeof dicomParserModule })
  .default ?? dicomParserModule) as typeof dicomParserModule

/** Result of parsing a (possibly partial) file: a data set, or 'more' when the bytes ended too soon. */
export type ParseOutcome = { dataSet: DataSet; transferSyntaxUid: string } | 'more'

/** What the preamble and file meta group say: the transfer syntax and where the data set starts. */
export interface FileMeta {
  transferSyntaxUid: string
  dataSetStart: number
}

/**
 * dicom-parser calls this for a deflated data set. Callers hand it bytes whose data set is already
 * inflated (see deflated.ts), so it passes them through: inflating here could not be capped.
 */
const alreadyInflated = (bytes: Uint8Array): Uint8Array => bytes

function hex4(n: number): string {
  return n.toString(16).toUpperCase().padStart(4, '0')
}

function isVrChars(a: number, b: number): boolean {
  return a >= 0x41 && a <= 0x5a && b >= 0x41 && b <= 0x5a
}

/** Checks the preamble and marker; returns the transfer syntax to assume for a raw data set (no Part 10 header). */
function checkPrefix(bytes: Uint8Array, path: string, complete: boolean): string | null {
  if (
    bytes.length >= 132 &&
    bytes[128] === 0x44 &&
    bytes[129] === 0x49 &&
    bytes[130] === 0x43 &&
    bytes[131] === 0x4d
  ) {
    if (bytes.length >= 136) {
      const group = bytes[132] | (bytes[133] << 8)
      if (group !== 0x0002) {
        const element = bytes[134] | (bytes[135] << 8)
        throw new FileReadError(
          path,
          `garbage after the DICM marker: expected the file meta group (0002,xxxx), found (${hex4(group)},${hex4(element)})`
        )
      }
    } else if (complete) {
      throw new FileReadError(path, `truncated file: ${bytes.length} bytes, ends right after the DICM marker`)
    }
    return null
  }
  // A bare data set (no preamble), as some old archives write: it starts with a group 0008 element.
  if (bytes.length >= 8 && bytes[0] === 0x08 && bytes[1] === 0x00) {
    return isVrChars(bytes[4], bytes[5]) ? TS.explicitLittle : TS.implicitLittle
  }
  if (bytes.length < 132 && complete) {
    throw new FileReadError(path, `not a DICOM file: only ${bytes.length} bytes, no DICM marker at byte 128`)
  }
  throw new FileReadError(path, 'not a DICOM file: no DICM marker at byte 128')
}

function isOverrun(message: string): boolean {
  return /past end of buffer|buffer overrun|buffer overread|greater than or equal to 'byteArray' length|unexpected end|eof encountered/i.test(
    message
  )
}

/** dicom-parser throws strings, Errors, or `{ exception, dataSet }`: the message inside. */
function parserMessage(err: unknown): string {
  return errorMessage((err as { exception?: unknown })?.exception ?? err)
}

/** A FileReadError for what dicom-parser threw while reading a complete file of `length` bytes. */
function parseFailure(err: unknown, path: string, length: number): FileReadError {
  const inner = (err as { exception?: unknown })?.exception ?? err
  // dicom-parser recurses once per nesting level; a file can nest deeper than the stack goes
  if (inner instanceof RangeError && /call stack/i.test(inner.message))
    return new FileReadError(path, 'malformed DICOM data set: sequences nested too deeply to read')
  // its own bug: at the end of the bytes it logs to a warnings list that items inside a
  // defined-length item lack, so a cut-off undefined-length item surfaces as this TypeError
  if (inner instanceof TypeError && /reading 'push'/.test(inner.message))
    return new FileReadError(
      path,
      `truncated file: a sequence item of undefined length runs to the end of the data set without its delimiter (${length} bytes)`
    )
  if (inner instanceof Error && !(inner instanceof FileReadError) && inner.constructor !== Error)
    return new FileReadError(path, 'malformed DICOM data set: its elements, sequences and items do not fit together')
  const message = parserMessage(err)
  if (isOverrun(message))
    return new FileReadError(
      path,
      `truncated file: the data set ends in the middle of an element (${length} bytes)`
    )
  if (/0002,0010/.test(message))
    return new FileReadError(path, 'the file meta group has no transfer syntax (0002,0010)')
  return new FileReadError(path, `malformed DICOM data set: ${message.replace(/^dicomParser[.:]\s*/, '')}`)
}

/**
 * Reads the preamble and file meta group of `bytes` (the whole file when `complete`, else a prefix).
 * Returns 'more' when a prefix ends inside the meta group; throws FileReadError otherwise.
 */
export function readFileMeta(bytes: Uint8Array, path: string, complete: boolean): FileMeta | 'more' {
  if (bytes.length === 0) throw new FileReadError(path, 'empty file (0 bytes)')
  const rawSyntax = checkPrefix(bytes, path, complete)
  if (rawSyntax) return { transferSyntaxUid: rawSyntax, dataSetStart: 0 }
  let meta: DataSet & { position?: number }
  try {
    meta = dicomParser.readPart10Header(bytes)
  } catch (err) {
    if (!complete) return 'more'
    throw parseFailure(err, path, bytes.length)
  }
  const dataSetStart = meta.position ?? bytes.length
  // a prefix that ends with the meta group may not hold all of it
  if (!complete && dataSetStart >= bytes.length) return 'more'
  if (dataSetStart > bytes.length)
    throw new FileReadError(
      path,
      `truncated file: the file meta group ends in the middle of an element (${bytes.length} bytes)`
    )
  if (!meta.elements.x00020010)
    throw new FileReadError(path, 'the file meta group has no transfer syntax (0002,0010)')
  return { transferSyntaxUid: (meta.string('x00020010') ?? '').replace(/\0/g, '').trim(), dataSetStart }
}

/**
 * Parses `bytes` (the whole file when `complete`, else a prefix) up to the pixel data element, or
 * to the end when `untilPixelData` is false. A deflated data set must already be inflated in
 * `bytes` (deflated.ts). Returns 'more' when a prefix ended before the pixel data element; throws
 * FileReadError otherwise.
 */
export function parseUntilPixelData(
  bytes: Uint8Array,
  path: string,
  complete: boolean,
  untilPixelData = true
): ParseOutcome {
  if (bytes.length === 0) throw new FileReadError(path, 'empty file (0 bytes)')
  const rawSyntax = checkPrefix(bytes, path, complete)
  let dataSet: DataSet
  try {
    dataSet = dicomParser.parseDicom(bytes, {
      untilTag: untilPixelData ? PIXEL_DATA : undefined,
      inflater: alreadyInflated,
      ...(rawSyntax ? { TransferSyntaxUID: rawSyntax } : {})
    })
  } catch (err) {
    if (!complete) return 'more'
    throw parseFailure(err, path, bytes.length)
  }
  if (!dataSet.elements[PIXEL_DATA] && untilPixelData && !complete) return 'more'
  const cut = elementPastEnd(dataSet, bytes.length)
  if (cut) {
    if (!complete) return 'more'
    throw new FileReadError(path, `truncated file: element ${cut} runs past the end of the file (${bytes.length} bytes)`)
  }
  const transferSyntaxUid = rawSyntax ?? (dataSet.string('x00020010') ?? '').replace(/\0/g, '').trim()
  return { dataSet, transferSyntaxUid }
}

/**
 * Parses an inflated deflated data set on its own (no meta group: the syntax is known, and copying
 * a whole image behind the meta bytes would cost its size again).
 */
export function parseInflatedDataSet(inflated: Uint8Array, path: string): DataSet {
  const api = dicomParser as unknown as {
    DataSet: new (parser: unknown, byteArray: Uint8Array, elements: Record<string, unknown>) => DataSet
  }
  const dataSet = new api.DataSet(dicomParser.littleEndianByteArrayParser, inflated, {})
  dataSet.warnings = []
  try {
    const stream = new dicomParser.ByteStream(dicomParser.littleEndianByteArrayParser, inflated, 0)
    dicomParser.parseDicomDataSetExplicit(dataSet, stream, inflated.length)
  } catch (err) {
    throw parseFailure(err, path, inflated.length)
  }
  const cut = elementPastEnd(dataSet, inflated.length)
  if (cut) throw new FileReadError(path, `truncated file: element ${cut} runs past the end of the data set`)
  return dataSet
}

/**
 * The first element (outside the pixel data, which the frame readers check with the image size)
 * whose value runs past `end`, as (gggg,eeee). dicom-parser checks this for explicit VR data sets
 * but not for implicit ones, whose cut-off values would otherwise be read as if they were there.
 */
function elementPastEnd(dataSet: DataSet, end: number): string | null {
  for (const element of Object.values(dataSet.elements)) {
    if (element.tag === PIXEL_DATA) continue
    if (!element.hadUndefinedLength && element.dataOffset + element.length > end)
      return `(${element.tag.slice(1, 5).toUpperCase()},${element.tag.slice(5).toUpperCase()})`
    for (const item of element.items ?? []) {
      const inner = item.dataSet && elementPastEnd(item.dataSet, end)
      if (inner) return inner
    }
  }
  return null
}

/** Parses a complete file whose data set is not deflated; the pixel data element must be present. */
export function parseComplete(
  bytes: Uint8Array,
  path: string
): { dataSet: DataSet; transferSyntaxUid: string } {
  const outcome = parseUntilPixelData(bytes, path, true, false)
  if (outcome === 'more') throw new FileReadError(path, 'truncated file')
  requirePixelData(outcome.dataSet, path)
  return outcome
}

export function requirePixelData(dataSet: DataSet, path: string): void {
  if (!dataSet.elements[PIXEL_DATA]) throw new FileReadError(path, 'no pixel data (7FE0,0010): not an image')
}
