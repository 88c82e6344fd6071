// The failures the parser fuzz test found, each rebuilt by hand as one small file with the outcome
// every reading must now have. They run through the same worker as the fuzz test, so a hang that
// comes back is ended and reported rather than stalling the run.
import { encode, fixtureSeed, generatedSeeds, nestedSequence, splice, type Seed } from './seeds'

export interface Regression {
  /** What the fuzzer saw before the fix. */
  found: string
  bytes: () => Promise<Uint8Array>
  /** The reason each reading must fail with, or 'read' where it reads the file. */
  reasons: Record<'header' | 'tags' | 'decode', string | RegExp | 'read'>
}

function withUs(seed: Seed, tag: string, value: number): Uint8Array {
  const spot = seed.elements.find((e) => e.tag === tag)!
  const full = seed.full.slice()
  new DataView(full.buffer).setUint16(spot.dataOffset, value, spot.littleEndian)
  return encode(seed, full)
}

export const REGRESSIONS: Regression[] = [
  {
    found:
      'decode of a file with Bits Allocated 15 (big endian): "cannot decode … pixel data: Invalid typed array length: 5120"',
    bytes: async () => withUs(fixtureSeed('files/mono1_u12.bigendian.dcm'), 'x00280100', 15),
    reasons: {
      header: 'unsupported Bits Allocated 15',
      tags: 'read',
      decode: 'unsupported Bits Allocated 15'
    }
  },
  {
    found:
      'tag panel of an implicit VR file cut inside (0028,0103): dicom-parser\'s string "readUint16: attempt to read past end of buffer" escaped',
    bytes: async () => fixtureSeed('files/mono1_u12.implicit.dcm').full.slice(0, 633),
    reasons: {
      header: 'truncated file: element (0028,0103) runs past the end of the file (633 bytes)',
      tags: 'truncated file: element (0028,0103) runs past the end of the file (633 bytes)',
      decode: 'truncated file: element (0028,0103) runs past the end of the file (633 bytes)'
    }
  },
  {
    found:
      'decode of a JPEG-LS file cut after its first fragment: CharLS spun 12 s (15 s and more in the fuzz run, whose limit ended it), then failed with a bare number',
    bytes: async () => {
      const seed = (await generatedSeeds()).find((s) => s.name === 'generated/jpegls-fragments.dcm')!
      return seed.full.slice(0, 752)
    },
    reasons: {
      header: 'truncated file: the encapsulated pixel data ends after 2 item(s) without its sequence delimiter (752 bytes)',
      tags: 'read',
      decode:
        'cannot decode JPEG-LS Lossless pixel data: the decoder rejected the compressed data as corrupt or truncated'
    }
  },
  {
    found:
      'decode of a JPEG-LS file with 2 bytes inserted in its fragment (which so loses its end marker): "cannot decode … pixel data: 255768" (with other bytes, a hang)',
    bytes: async () => {
      const seed = fixtureSeed('files/mono2_u16.jpegls-near.dcm')
      return splice(seed.full, 1122, Uint8Array.of(0x41, 0x42))
    },
    reasons: {
      // the indexer sees a whole file (it ends with the sequence delimiter); the decoder sees the damage
      header: 'read',
      tags: 'read',
      decode:
        'cannot decode JPEG-LS Near-Lossless pixel data: the decoder rejected the compressed data as corrupt or truncated'
    }
  },
  {
    found:
      'an item of undefined length cut off at the end, inside a defined-length item: "malformed DICOM data set: Cannot read properties of undefined (reading \'push\')" from every reading',
    bytes: async () => {
      const seed = (await generatedSeeds()).find((s) => s.name === 'generated/explicit-nested-defined.dcm')!
      const full = seed.full.slice()
      new DataView(full.buffer).setUint32(494 + 4, 0xffffffff, true) // the second item's length
      return full
    },
    reasons: {
      header: /^truncated file: a sequence item of undefined length runs to the end of the data set without its delimiter/,
      tags: /^truncated file: a sequence item of undefined length runs to the end of the data set without its delimiter/,
      decode: /^truncated file: a sequence item of undefined length runs to the end of the data set without its delimiter/
    }
  },
  {
    found: 'sequences nested 100,000 deep (the fuzzer nests up to 3,000, which reads)',
    bytes: async () => {
      const seed = fixtureSeed('files/mono2_u8.explicit.dcm')
      const at = seed.elements.find((e) => e.topLevel && e.tag > 'x00090000')!.at
      return splice(seed.full, at, nestedSequence(100_000, true, true, false))
    },
    reasons: {
      header: 'malformed DICOM data set: sequences nested too deeply to read',
      tags: 'malformed DICOM data set: sequences nested too deeply to read',
      decode: 'malformed DICOM data set: sequences nested too deeply to read'
    }
  }
]
