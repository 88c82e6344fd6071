// Decoded DICOM pixels and display settings (plain TypeScript: runs in main, workers and the renderer).

/** Stored values of one frame, after masking to BitsStored and sign extension. */
export type StoredPixels = Uint8Array | Int8Array | Uint16Array | Int16Array | Int32Array

/** A VOI LUT from the VOI LUT Sequence (0028,3010): modality value -> display value of `bits` bits. */
export interface VoiLut {
  firstMapped: number
  bits: number
  data: Uint16Array
  explanation?: string
}

/** One decoded frame plus the header facts the pixel pipeline needs. */
export interface DecodedImage {
  rows: number
  columns: number
  bitsAllocated: number
  bitsStored: number
  highBit: number
  pixelRepresentation: number
  /** Photometric interpretation of `pixels`: colour inputs are converted to grey (MONOCHROME2) on decode. */
  photometric: string
  samplesPerPixel: number
  transferSyntaxUid: string
  rescaleSlope: number
  rescaleIntercept: number
  windowCenter: number[] | null
  windowWidth: number[] | null
  voiLut: VoiLut | null
  pixels: StoredPixels
}

/** A VOI window in modality units (DICOM Window Center / Window Width). */
export interface VoiWindow {
  center: number
  width: number
}

/** A grey image ready to show or feed to a model. */
export interface GrayImage {
  width: number
  height: number
  pixels: Uint8Array
}
