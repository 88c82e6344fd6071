// Transfer syntaxes CXR Studio reads, with the names shown in errors and summaries.

export const TS = {
  implicitLittle: '1.2.840.10008.1.2',
  explicitLittle: '1.2.840.10008.1.2.1',
  deflatedLittle: '1.2.840.10008.1.2.1.99',
  explicitBig: '1.2.840.10008.1.2.2',
  jpegBaseline: '1.2.840.10008.1.2.4.50',
  jpegExtended: '1.2.840.10008.1.2.4.51',
  jpegLosslessP14: '1.2.840.10008.1.2.4.57',
  jpegLosslessSV1: '1.2.840.10008.1.2.4.70',
  jpegLsLossless: '1.2.840.10008.1.2.4.80',
  jpegLsNearLossless: '1.2.840.10008.1.2.4.81',
  jpeg2000Lossless: '1.2.840.10008.1.2.4.90',
  jpeg2000: '1.2.840.10008.1.2.4.91',
  rle: '1.2.840.10008.1.2.5'
} as const

const NAMES: Record<string, string> = {
  [TS.implicitLittle]: 'Implicit VR Little Endian',
  [TS.explicitLittle]: 'Explicit VR Little Endian',
  [TS.deflatedLittle]: 'Deflated Explicit VR Little Endian',
  [TS.explicitBig]: 'Explicit VR Big Endian',
  [TS.jpegBaseline]: 'JPEG Baseline (Process 1)',
  [TS.jpegExtended]: 'JPEG Extended (Process 2 & 4)',
  [TS.jpegLosslessP14]: 'JPEG Lossless (Process 14)',
  [TS.jpegLosslessSV1]: 'JPEG Lossless SV1 (Process 14, Selection Value 1)',
  [TS.jpegLsLossless]: 'JPEG-LS Lossless',
  [TS.jpegLsNearLossless]: 'JPEG-LS Near-Lossless',
  [TS.jpeg2000Lossless]: 'JPEG 2000 Lossless',
  [TS.jpeg2000]: 'JPEG 2000',
  [TS.rle]: 'RLE Lossless',
  '1.2.840.10008.1.2.4.100': 'MPEG2 Main Profile',
  '1.2.840.10008.1.2.4.101': 'MPEG2 High Profile',
  '1.2.840.10008.1.2.4.102': 'MPEG-4 AVC/H.264',
  '1.2.840.10008.1.2.4.103': 'MPEG-4 AVC/H.264 BD',
  '1.2.840.10008.1.2.4.201': 'HTJ2K Lossless',
  '1.2.840.10008.1.2.4.202': 'HTJ2K Lossless RPCL',
  '1.2.840.10008.1.2.4.203': 'HTJ2K',
  '1.2.840.10008.1.2.4.53': 'JPEG Spectral Selection (retired)',
  '1.2.840.10008.1.2.4.55': 'JPEG Full Progression (retired)'
}

export function transferSyntaxName(uid: string): string {
  return NAMES[uid] ?? 'unknown'
}

/** Syntaxes whose pixel data is stored as-is (not encapsulated). */
export function isNative(uid: string): boolean {
  return (
    uid === TS.implicitLittle ||
    uid === TS.explicitLittle ||
    uid === TS.deflatedLittle ||
    uid === TS.explicitBig
  )
}

const DECODABLE = new Set<string>(Object.values(TS))

/** Syntaxes main/core/dicom/decode.ts can decode. */
export function isSupportedTransferSyntax(uid: string): boolean {
  return DECODABLE.has(uid)
}

/** The reason given for a file whose pixels cannot be decoded here. */
export function unsupportedReason(uid: string): string {
  return `unsupported transfer syntax ${uid || '(none)'} (${transferSyntaxName(uid)})`
}
