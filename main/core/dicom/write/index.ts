// A small DICOM Part 10 writer for single-frame greyscale radiographs (DX / CR).
import { deflateRawSync } from 'node:zlib'
import { UserError } from '../../errors'
import { encodeJ2k, encodeJpegBaseline, encodeJpegLs, type CodecFrame } from './codecs'
import {
  EXPLICIT_LE,
  concat,
  elementHeader,
  encodeDataset,
  padEven,
  type Element,
  type Encoding
} from './elements'
import { encodeRleFrame } from './rle'
import { LOSSY_METHOD, WRITE_SYNTAXES, type WriteSyntax } from './transfer-syntax'

export { WRITE_SYNTAXES, WRITE_SYNTAX_NAMES, transferSyntaxUid, type WriteSyntax } from './transfer-syntax'
export { encodeRleFrame } from './rle'

export const SOP_CLASS = {
  /** Digital X-Ray Image Storage - For Presentation. */
  DX: '1.2.840.10008.5.1.4.1.1.1.1',
  /** Computed Radiography Image Storage. */
  CR: '1.2.840.10008.5.1.4.1.1.1'
} as const

/** Identifies files written by CXR Studio in (0002,0012) / (0002,0013). */
export const IMPLEMENTATION_CLASS_UID = '2.25.232178354952701942385639783715202731983'
export const IMPLEMENTATION_VERSION_NAME = 'CXRSTUDIO_010'

/** One greyscale frame and the header facts a viewer and the Kaggle pipeline need. */
export interface DicomImage {
  rows: number
  columns: number
  bitsAllocated: 8 | 16
  bitsStored: number
  pixelRepresentation: 0 | 1
  photometric: 'MONOCHROME1' | 'MONOCHROME2'
  /** Row-major stored values: Uint8Array for 8 bits, Uint16Array (unsigned) or Int16Array (signed) for 16. */
  pixels: Uint8Array | Uint16Array | Int16Array
  rescaleSlope?: number
  rescaleIntercept?: number
  windowCenter?: number
  windowWidth?: number
  studyInstanceUid: string
  seriesInstanceUid: string
  sopInstanceUid: string
  modality: 'DX' | 'CR'
  patientId?: string
  patientName?: string
  patientSex?: 'M' | 'F' | 'O'
  /** DICOM date YYYYMMDD and time HHMMSS. */
  studyDate?: string
  studyTime?: string
  accessionNumber?: string
  studyId?: string
  seriesNumber?: number
  instanceNumber?: number
  bodyPartExamined?: string
  viewPosition?: 'PA' | 'AP' | 'LL'
  /** Row spacing, column spacing in mm. */
  pixelSpacing?: [number, number]
}

export interface WriteOptions {
  /** Split compressed frames (not RLE, which PS3.5 A.4.2 keeps in one fragment) into fragments of at most this many bytes. */
  fragmentSize?: number
  /** JPEG baseline quality 1-100 (default 90). */
  jpegQuality?: number
  /** JPEG-LS NEAR for jpeg-ls-near-lossless (default 2). */
  nearLossless?: number
  /** Target compression ratio for j2k-lossy (default 10). */
  j2kCompressionRatio?: number
}

const ENCODINGS: Partial<Record<WriteSyntax, Encoding>> = {
  'implicit-le': { explicitVr: false, littleEndian: true },
  'explicit-be': { explicitVr: true, littleEndian: false }
}

const PIXEL_DATA = 0x7fe00010
const ITEM = 0xfffee000
const SEQUENCE_DELIMITER = 0xfffee0dd

/** Writes a complete DICOM Part 10 file (preamble, meta group, data set) in the given transfer syntax. */
export async function writeDicom(
  image: DicomImage,
  transferSyntax: WriteSyntax,
  options: WriteOptions = {}
): Promise<Uint8Array> {
  const syntax = WRITE_SYNTAXES[transferSyntax]
  if (!syntax) throw new UserError(`unknown transfer syntax "${transferSyntax}"`)
  validateImage(image, transferSyntax)
  const encoding = ENCODINGS[transferSyntax] ?? EXPLICIT_LE

  let pixelData: Uint8Array
  let lossyRatio: number | null = null
  if (syntax.encapsulated) {
    const frame = await compressFrame(image, transferSyntax, options)
    const fragments = transferSyntax === 'rle' ? [frame] : splitFragments(frame, options.fragmentSize)
    pixelData = encapsulate(fragments)
    if (syntax.lossy) lossyRatio = (image.rows * image.columns * image.bitsAllocated) / 8 / frame.length
  } else {
    pixelData = nativePixelData(image, encoding)
  }

  const elements = headerElements(image, lossyRatio, transferSyntax)
  let body = concat([encodeDataset(elements, encoding), pixelData])
  if (transferSyntax === 'deflated') body = padEven(deflateRawSync(body), 0)

  return concat([preamble(), metaGroup(image, syntax.uid), body])
}

function preamble(): Uint8Array {
  const bytes = new Uint8Array(132)
  bytes.set([0x44, 0x49, 0x43, 0x4d], 128) // "DICM"
  return bytes
}

/** File meta information (group 0002), always explicit VR little endian, led by its group length. */
function metaGroup(image: DicomImage, transferSyntaxUid: string): Uint8Array {
  const elements = encodeDataset(
    [
      { tag: 0x00020001, vr: 'OB', value: new Uint8Array([0, 1]) },
      { tag: 0x00020002, vr: 'UI', value: SOP_CLASS[image.modality] },
      { tag: 0x00020003, vr: 'UI', value: image.sopInstanceUid },
      { tag: 0x00020010, vr: 'UI', value: transferSyntaxUid },
      { tag: 0x00020012, vr: 'UI', value: IMPLEMENTATION_CLASS_UID },
      { tag: 0x00020013, vr: 'SH', value: IMPLEMENTATION_VERSION_NAME }
    ],
    EXPLICIT_LE
  )
  const groupLength = encodeDataset([{ tag: 0x00020000, vr: 'UL', value: [elements.length] }], EXPLICIT_LE)
  return concat([groupLength, elements])
}

function headerElements(image: DicomImage, lossyRatio: number | null, syntax: WriteSyntax): Element[] {
  const text = (tag: number, vr: Element['vr'], value: string | undefined): Element[] =>
    value === undefined ? [] : [{ tag, vr, value }]
  const elements: Element[] = [
    { tag: 0x00080008, vr: 'CS', value: ['ORIGINAL', 'PRIMARY'] },
    { tag: 0x00080016, vr: 'UI', value: SOP_CLASS[image.modality] },
    { tag: 0x00080018, vr: 'UI', value: image.sopInstanceUid },
    { tag: 0x00080020, vr: 'DA', value: image.studyDate ?? '' },
    { tag: 0x00080030, vr: 'TM', value: image.studyTime ?? '' },
    { tag: 0x00080050, vr: 'SH', value: image.accessionNumber ?? '' },
    { tag: 0x00080060, vr: 'CS', value: image.modality },
    // the DX For Presentation IOD requires its intent (PS3.3 C.8.11.1)
    ...(image.modality === 'DX' ? [{ tag: 0x00080068, vr: 'CS' as const, value: 'FOR PRESENTATION' }] : []),
    { tag: 0x00080090, vr: 'PN', value: '' },
    { tag: 0x00100010, vr: 'PN', value: image.patientName ?? '' },
    { tag: 0x00100020, vr: 'LO', value: image.patientId ?? '' },
    { tag: 0x00100030, vr: 'DA', value: '' },
    { tag: 0x00100040, vr: 'CS', value: image.patientSex ?? '' },
    ...text(0x00180015, 'CS', image.bodyPartExamined),
    ...text(0x00185101, 'CS', image.viewPosition),
    { tag: 0x0020000d, vr: 'UI', value: image.studyInstanceUid },
    { tag: 0x0020000e, vr: 'UI', value: image.seriesInstanceUid },
    { tag: 0x00200010, vr: 'SH', value: image.studyId ?? '' },
    { tag: 0x00200011, vr: 'IS', value: String(image.seriesNumber ?? 1) },
    { tag: 0x00200013, vr: 'IS', value: String(image.instanceNumber ?? 1) },
    { tag: 0x00200020, vr: 'CS', value: '' },
    { tag: 0x00280002, vr: 'US', value: [1] },
    { tag: 0x00280004, vr: 'CS', value: image.photometric },
    { tag: 0x00280010, vr: 'US', value: [image.rows] },
    { tag: 0x00280011, vr: 'US', value: [image.columns] },
    { tag: 0x00280100, vr: 'US', value: [image.bitsAllocated] },
    { tag: 0x00280101, vr: 'US', value: [image.bitsStored] },
    { tag: 0x00280102, vr: 'US', value: [image.bitsStored - 1] },
    { tag: 0x00280103, vr: 'US', value: [image.pixelRepresentation] }
  ]
  if (image.pixelSpacing)
    elements.push({ tag: 0x00280030, vr: 'DS', value: image.pixelSpacing.map(decimalString) })
  if (image.windowCenter !== undefined && image.windowWidth !== undefined) {
    elements.push({ tag: 0x00281050, vr: 'DS', value: decimalString(image.windowCenter) })
    elements.push({ tag: 0x00281051, vr: 'DS', value: decimalString(image.windowWidth) })
  }
  if (image.rescaleSlope !== undefined || image.rescaleIntercept !== undefined) {
    elements.push({ tag: 0x00281052, vr: 'DS', value: decimalString(image.rescaleIntercept ?? 0) })
    elements.push({ tag: 0x00281053, vr: 'DS', value: decimalString(image.rescaleSlope ?? 1) })
    elements.push({ tag: 0x00281054, vr: 'LO', value: 'US' })
  }
  if (lossyRatio !== null) {
    elements.push({ tag: 0x00282110, vr: 'CS', value: '01' })
    elements.push({ tag: 0x00282112, vr: 'DS', value: decimalString(Number(lossyRatio.toFixed(2))) })
    elements.push({ tag: 0x00282114, vr: 'CS', value: LOSSY_METHOD[syntax] ?? '' })
  }
  return elements
}

/** DS values hold at most 16 characters (PS3.5 table 6.2-1). */
function decimalString(value: number): string {
  if (!Number.isFinite(value)) throw new UserError(`cannot write ${value} as a DICOM decimal string`)
  let text = String(value)
  for (let digits = 10; text.length > 16 && digits >= 0; digits--)
    text = String(Number(value.toPrecision(digits + 1)))
  return text
}

/** Native (uncompressed) pixel data in the encoding's byte order; 8-bit samples go as OB so no byte swapping applies. */
function nativePixelData(image: DicomImage, encoding: Encoding): Uint8Array {
  const { pixels } = image
  let bytes: Uint8Array
  if (image.bitsAllocated === 8) {
    bytes = padEven(new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.length).slice(), 0)
  } else {
    bytes = new Uint8Array(pixels.length * 2)
    const view = new DataView(bytes.buffer)
    for (let i = 0; i < pixels.length; i++) view.setUint16(i * 2, pixels[i] & 0xffff, encoding.littleEndian)
  }
  return concat([
    elementHeader(PIXEL_DATA, image.bitsAllocated === 8 ? 'OB' : 'OW', bytes.length, encoding),
    bytes
  ])
}

async function compressFrame(
  image: DicomImage,
  syntax: WriteSyntax,
  options: WriteOptions
): Promise<Uint8Array> {
  const frame: CodecFrame = {
    rows: image.rows,
    columns: image.columns,
    bitsStored: image.bitsStored,
    signed: image.pixelRepresentation === 1,
    samples: image.pixels
  }
  switch (syntax) {
    case 'rle':
      return encodeRleFrame(image.pixels, image.rows, image.columns)
    case 'jpeg-ls-lossless':
      return encodeJpegLs(frame, 0)
    case 'jpeg-ls-near-lossless':
      return encodeJpegLs(frame, options.nearLossless ?? 2)
    case 'j2k-lossless':
      return encodeJ2k(frame, true, 0)
    case 'j2k-lossy':
      return encodeJ2k(frame, false, options.j2kCompressionRatio ?? 10)
    case 'jpeg-baseline':
      return encodeJpegBaseline(frame, options.jpegQuality ?? 90)
    default:
      throw new Error(`${syntax} is not an encapsulated syntax`)
  }
}

/** Even-length fragments; a trailing pad byte after a codestream's end marker is ignored by decoders. */
function splitFragments(frame: Uint8Array, fragmentSize?: number): Uint8Array[] {
  const size =
    fragmentSize && fragmentSize > 0 ? Math.max(2, fragmentSize - (fragmentSize % 2)) : frame.length + 1
  const fragments: Uint8Array[] = []
  for (let start = 0; start < frame.length; start += size)
    fragments.push(padEven(frame.subarray(start, start + size), 0))
  return fragments
}

/** Encapsulated pixel data (PS3.5 A.4): undefined length, a basic offset table item, one item per fragment. */
function encapsulate(fragments: Uint8Array[]): Uint8Array {
  const offsetTable = new Uint8Array(4) // the single frame starts at offset 0 of the first fragment
  const parts = [
    elementHeader(PIXEL_DATA, 'OB', 0xffffffff, EXPLICIT_LE),
    elementHeader(ITEM, null, 4, EXPLICIT_LE),
    offsetTable
  ]
  for (const fragment of fragments)
    parts.push(elementHeader(ITEM, null, fragment.length, EXPLICIT_LE), fragment)
  parts.push(elementHeader(SEQUENCE_DELIMITER, null, 0, EXPLICIT_LE))
  return concat(parts)
}

function validateImage(image: DicomImage, syntax: WriteSyntax): void {
  const { rows, columns, bitsAllocated, bitsStored, pixelRepresentation, pixels } = image
  const fail = (reason: string): never => {
    throw new UserError(`cannot write image ${image.sopInstanceUid} as ${syntax}: ${reason}`)
  }
  if (
    !Number.isInteger(rows) ||
    !Number.isInteger(columns) ||
    rows < 1 ||
    columns < 1 ||
    rows > 0xffff ||
    columns > 0xffff
  ) {
    fail(`invalid size ${columns}x${rows}`)
  }
  if (bitsAllocated !== 8 && bitsAllocated !== 16) fail(`BitsAllocated ${bitsAllocated} is not 8 or 16`)
  if (!Number.isInteger(bitsStored) || bitsStored < 1 || bitsStored > bitsAllocated)
    fail(`BitsStored ${bitsStored} does not fit BitsAllocated ${bitsAllocated}`)
  if (pixels.length !== rows * columns) fail(`${pixels.length} pixels for a ${columns}x${rows} image`)
  if (bitsAllocated === 8 && pixelRepresentation === 1) fail('signed 8-bit pixels are not supported')
  const expectedArray =
    bitsAllocated === 8 ? Uint8Array : pixelRepresentation === 0 ? Uint16Array : Int16Array
  if (!(pixels instanceof expectedArray)) {
    fail(
      `${bitsAllocated}-bit pixels with PixelRepresentation ${pixelRepresentation} must be a ${expectedArray.name}`
    )
  }
  const min = pixelRepresentation === 1 ? -(2 ** (bitsStored - 1)) : 0
  const max = pixelRepresentation === 1 ? 2 ** (bitsStored - 1) - 1 : 2 ** bitsStored - 1
  for (let i = 0; i < pixels.length; i++) {
    if (pixels[i] < min || pixels[i] > max)
      fail(`pixel ${i} = ${pixels[i]} is outside the ${bitsStored}-bit range ${min}..${max}`)
  }
  if (syntax === 'jpeg-baseline' && (bitsAllocated !== 8 || bitsStored !== 8 || pixelRepresentation !== 0)) {
    fail('JPEG baseline holds only unsigned 8-bit samples')
  }
  if ((syntax === 'jpeg-ls-lossless' || syntax === 'jpeg-ls-near-lossless') && bitsStored < 2)
    fail('JPEG-LS needs at least 2 bits stored')
  for (const uid of [image.studyInstanceUid, image.seriesInstanceUid, image.sopInstanceUid]) {
    if (!/^[0-9.]{1,64}$/.test(uid))
      fail(`"${uid}" is not a DICOM UID (digits and dots, at most 64 characters)`)
  }
}
