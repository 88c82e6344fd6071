// Broken files made from a good fixture at test time: each must become a clear per-file error.
import { readFileSync } from 'node:fs'
import { fixturePath } from './fixtures'

const good = () => new Uint8Array(readFileSync(fixturePath('files/mono2_u12.explicit.dcm')))
const compressed = () => new Uint8Array(readFileSync(fixturePath('files/mono2_u12.jpegls.dcm')))

/** Offset of the (7FE0,0010) element in an explicit VR little endian file. */
export function pixelDataOffset(bytes: Uint8Array): number {
  for (let i = 132; i + 4 < bytes.length; i++) {
    if (bytes[i] === 0xe0 && bytes[i + 1] === 0x7f && bytes[i + 2] === 0x10 && bytes[i + 3] === 0x00) return i
  }
  throw new Error('fixture has no pixel data')
}

export function badFiles(): Record<string, { bytes: Uint8Array; reason: RegExp }> {
  const bytes = good()
  const pixelAt = pixelDataOffset(bytes)
  const jpegLs = compressed()
  const garbage = bytes.slice(0, 200)
  for (let i = 132; i < garbage.length; i++) garbage[i] = (i * 13 + 7) & 0xff
  return {
    'empty.dcm': { bytes: new Uint8Array(0), reason: /^empty file/ },
    'truncated-pixels.dcm': {
      bytes: bytes.slice(0, pixelAt + 12 + 100),
      reason: /^truncated file: pixel data needs 15360 bytes/
    },
    'truncated-header.dcm': { bytes: bytes.slice(0, 400), reason: /^truncated file/ },
    // an interrupted copy of a compressed file: the header is whole, its only fragment is not
    'truncated-fragment.dcm': {
      bytes: jpegLs.slice(0, jpegLs.length - 300),
      reason: /^truncated file: pixel data item 2 needs \d+ bytes, the file ends \d+ bytes after its start/
    },
    'notes.dcm': {
      bytes: new TextEncoder().encode('Patient list, not an image\n'.repeat(10)),
      reason: /^not a DICOM file/
    },
    'garbage.dcm': { bytes: garbage, reason: /^garbage after the DICM marker/ },
    'no-pixels.dcm': { bytes: bytes.slice(0, pixelAt), reason: /^no pixel data \(7FE0,0010\)/ }
  }
}
