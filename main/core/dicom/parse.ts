// Parsing DICOM Part 10 bytes with dicom-parser, turning its string exceptions into FileReadErrors
// that say what is wrong with the file.
import * as dicomParserModule from 'dicom-parser'
import type { DataSet } from 'dicom-parser'
import { constants, inflateRawSync } from 'node:zlib'
import { FileReadError, errorMessage } from '../errors'
import { TS } from './transfer-syntax'

export const PIXEL_DATA = 'x7fe00010'

// dicom-parser is a UMD bundle: Node's ESM loader exposes it only as the default export.
export const dicomParser = ((dicomParserModule as unknown as { default?: typeof dicomParserModule })
  .default ?? dicomParserModule) as typeof dicomParserModule

/** Result of parsing a (possibly partial) file: a data set, or 'more' when the bytes ended too soon. */
export type ParseOutcome = { dataSet: DataSet; transferSyntaxUid: string } | 'more'

/** Inflates the deflated data set; tolerates a cut-off stream so a header can be read from a prefix. */
function inflater(bytes: Uint8Array, position: number): Uint8Array {
  const inflated = inflateRawSync(bytes.subarray(position), { finishFlush: constants.Z_SYNC_FLUSH })
  const full = new Uint8Array(position + inflated.length)
  full.set(bytes.subarray(0, position), 0)
  full.set(inflated, position)
  return full
}

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

/**
 * Parses `bytes` (the whole file when `complete`, else a prefix) up to the pixel data element.
 * Returns 'more' when a prefix ended before the pixel data element; throws FileReadError otherwise.
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
      inflater,
      ...(rawSyntax ? { TransferSyntaxUID: rawSyntax } : {})
    })
  } catch (err) {
    const inner = (err as { exception?: unknown })?.exception ?? err
    const message = errorMessage(inner)
    if (!complete) return 'more'
    if (isOverrun(message))
      throw new FileReadError(
        path,
        `truncated file: the data set ends in the middle of an element (${bytes.length} bytes)`
      )
    if (/0002,0010/.test(message))
      throw new FileReadError(path, 'the file meta group has no transfer syntax (0002,0010)')
    if (/incorrect header check|invalid (block|stored|distance)|inflate/i.test(message)) {
      throw new FileReadError(path, `deflated data set cannot be inflated: ${message}`)
    }
    throw new FileReadError(path, `malformed DICOM data set: ${message.replace(/^dicomParser[.:]\s*/, '')}`)
  }
  if (!dataSet.elements[PIXEL_DATA] && untilPixelData && !complete) return 'more'
  const transferSyntaxUid = rawSyntax ?? (dataSet.string('x00020010') ?? '').replace(/\0/g, '').trim()
  return { dataSet, transferSyntaxUid }
}

/** Parses a complete file; the pixel data element must be present. */
export function parseComplete(
  bytes: Uint8Array,
  path: string
): { dataSet: DataSet; transferSyntaxUid: string } {
  const outcome = parseUntilPixelData(bytes, path, true, false)
  if (outcome === 'more') throw new FileReadError(path, 'truncated file')
  if (!outcome.dataSet.elements[PIXEL_DATA])
    throw new FileReadError(path, 'no pixel data (7FE0,0010): not an image')
  return outcome
}
