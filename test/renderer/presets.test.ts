// The names of the W/L presets on an image: preset 1 claims a file VOI only when the file has one.
import { describe, expect, it } from 'vitest'
import type { DecodedImageMeta } from '../../common/contract'
import { presetName, presetWindow } from '../../renderer/src/viewer/presets'

const meta = (voi: Partial<Pick<DecodedImageMeta, 'fileWindows' | 'voiLut'>>): DecodedImageMeta => ({
  imageId: 'abc',
  rows: 10,
  columns: 10,
  bitsAllocated: 16,
  bitsStored: 12,
  pixelRepresentation: 0,
  photometric: 'MONOCHROME2',
  transferSyntaxUid: '1.2.840.10008.1.2.1',
  transferSyntaxName: 'Explicit VR Little Endian',
  rescaleSlope: 1,
  rescaleIntercept: 0,
  fileWindows: [],
  autoWindow: { center: 2000, width: 3000 },
  voiLut: null,
  minPixelValue: 0,
  maxPixelValue: 4095,
  pixelFormat: 'uint16',
  decodeMs: 1,
  ...voi
})

describe('W/L preset names', () => {
  it('calls preset 1 what it is on a file without a window or VOI LUT: the auto window', () => {
    const noVoi = meta({})
    expect(presetName('file', noVoi)).toBe('Auto (no VOI in file)')
    expect(presetWindow('file', noVoi)).toEqual(presetWindow('auto', noVoi))
  })

  it('calls it File VOI when the file has a window or a VOI LUT', () => {
    expect(presetName('file', meta({ fileWindows: [{ center: 100, width: 200 }] }))).toBe('File VOI')
    const lut = { firstValueMapped: 0, numBitsPerEntry: 8, lut: [0, 255] }
    expect(presetName('file', meta({ voiLut: lut }))).toBe('File VOI')
  })

  it('names the other presets and a dragged window as before', () => {
    expect(presetName('auto', meta({}))).toBe('Auto')
    expect(presetName('lung', meta({}))).toBe('Lung')
    expect(presetName('custom', meta({}))).toBe('manual')
  })
})
