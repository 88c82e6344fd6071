// Locating the bytes of one frame in the pixel data element (native or encapsulated).
import type { DataSet, Element } from 'dicom-parser'
import { FileReadError } from '../errors'
import { dicomParser } from './parse'

export interface FrameLayout {
  rows: number
  columns: number
  samplesPerPixel: number
  bitsAllocated: number
  numberOfFrames: number
}

/** Raw bytes of native frame `index` (a view into the data set's bytes). */
export function nativeFrame(
  dataSet: DataSet,
  pixelData: Element,
  layout: FrameLayout,
  path: string,
  index = 0
): Uint8Array {
  const frameBits = layout.rows * layout.columns * layout.samplesPerPixel * layout.bitsAllocated
  const start = pixelData.dataOffset + Math.floor((frameBits * index) / 8)
  const length = Math.ceil(frameBits / 8)
  const available = dataSet.byteArray.length - start
  if (available < length) {
    throw new FileReadError(
      path,
      `truncated file: frame ${index + 1} needs ${length} bytes of pixel data, only ${Math.max(0, available)} present`
    )
  }
  return dataSet.byteArray.subarray(start, start + length)
}

/** The compressed bitstream of frame `index` (fragments joined when a frame spans several). */
export function encapsulatedFrame(
  dataSet: DataSet,
  pixelData: Element,
  layout: FrameLayout,
  path: string,
  index = 0
): Uint8Array {
  const fragments = pixelData.fragments ?? []
  if (fragments.length === 0) throw new FileReadError(path, 'encapsulated pixel data has no fragments')
  const end = pixelData.dataOffset + pixelData.length
  for (const fragment of fragments) {
    if (
      fragment.position + fragment.length > dataSet.byteArray.length ||
      (pixelData.length > 0 && !pixelData.hadUndefinedLength && fragment.position > end)
    ) {
      throw new FileReadError(path, 'truncated file: a pixel data fragment runs past the end of the file')
    }
  }
  if (layout.numberOfFrames <= 1) {
    return dicomParser.readEncapsulatedPixelDataFromFragments(
      dataSet,
      pixelData,
      0,
      fragments.length
    ) as Uint8Array
  }
  if (pixelData.basicOffsetTable && pixelData.basicOffsetTable.length > 0) {
    return dicomParser.readEncapsulatedImageFrame(dataSet, pixelData, index) as Uint8Array
  }
  if (fragments.length === layout.numberOfFrames) {
    return dicomParser.readEncapsulatedPixelDataFromFragments(dataSet, pixelData, index, 1) as Uint8Array
  }
  // multi-fragment frames without an offset table: JPEG frames can be found by their SOI markers
  const table = dicomParser.createJPEGBasicOffsetTable(dataSet, pixelData)
  return dicomParser.readEncapsulatedImageFrame(dataSet, pixelData, index, table) as Uint8Array
}
