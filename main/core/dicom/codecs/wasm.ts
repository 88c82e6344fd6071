// The Cornerstone WASM codecs (CharLS, OpenJPEG, libjpeg-turbo 8-bit), each loaded once, on first use.
import { createRequire } from 'node:module'
import { TS } from '../transfer-syntax'

/** What the three Emscripten decoders have in common (their embind classes are untyped). */
interface WasmDecoder {
  getEncodedBuffer(length: number): Uint8Array
  getDecodedBuffer(): Uint8Array
  decode(): void
  getFrameInfo(): {
    width: number
    height: number
    bitsPerSample: number
    componentCount: number
    isSigned?: boolean
  }
  delete(): void
}
type DecoderClass = new () => WasmDecoder
/** OpenJPEG's J2KDecoder can stop at a resolution level: 1 = half each side, 2 = a quarter, ... */
interface J2kDecoder extends WasmDecoder {
  decodeSubResolution(decodeLevel: number, decodeLayer: number): void
}

const requireCodec = createRequire(import.meta.url)
const loaded = new Map<string, Promise<DecoderClass>>()

function decoderClass(moduleId: string, className: string): Promise<DecoderClass> {
  let pending = loaded.get(moduleId)
  if (!pending) {
    const factory = requireCodec(moduleId) as (options?: object) => Promise<Record<string, DecoderClass>>
    // OpenJPEG prints [INFO] lines through Emscripten's print hooks; stdout must stay clean for --json
    pending = factory({ print: () => {}, printErr: () => {} }).then((module) => module[className])
    loaded.set(moduleId, pending)
  }
  return pending
}

export interface CodecFrame {
  width: number
  height: number
  bitsPerSample: number
  componentCount: number
  isSigned: boolean
  /** A copy of the decoded samples (the WASM heap is reused by the next decode). */
  bytes: Uint8Array
}

async function run(moduleId: string, className: string, encoded: Uint8Array, level = 0): Promise<CodecFrame> {
  const Decoder = await decoderClass(moduleId, className)
  const decoder = new Decoder()
  try {
    decoder.getEncodedBuffer(encoded.length).set(encoded)
    if (level > 0) (decoder as J2kDecoder).decodeSubResolution(level, 0)
    else decoder.decode()
    const info = decoder.getFrameInfo()
    // getFrameInfo keeps the full size after a sub-resolution decode; level L holds ceil(size / 2^L)
    const scale = 2 ** level
    return {
      width: Math.ceil(info.width / scale),
      height: Math.ceil(info.height / scale),
      bitsPerSample: info.bitsPerSample,
      componentCount: info.componentCount,
      isSigned: Boolean(info.isSigned),
      bytes: decoder.getDecodedBuffer().slice()
    }
  } catch (err) {
    throw codecFailure(moduleId, err)
  } finally {
    decoder.delete()
  }
}

/**
 * What a codec threw, in words. A C++ exception reaches JavaScript as a bare number (a pointer) and
 * an abort as a WebAssembly.RuntimeError; neither says anything to a user. After an abort the
 * module's memory cannot be trusted, so the next decode loads a fresh instance.
 */
function codecFailure(moduleId: string, err: unknown): Error {
  if (err instanceof Error && err.name === 'RuntimeError') {
    loaded.delete(moduleId)
    return new Error('the decoder stopped on corrupt or truncated compressed data')
  }
  if (err instanceof Error && err.message) return err
  return new Error('the decoder rejected the compressed data as corrupt or truncated')
}

/**
 * CharLS loops forever on a JPEG-LS codestream that stops without its end-of-image marker (a cut
 * fragment, an item length shorter than its data). With FF D9 appended it ends, with an error when
 * data is missing and with the image when only the marker was.
 */
function endedJpegLs(encoded: Uint8Array): Uint8Array {
  let end = encoded.length
  while (end > 0 && encoded[end - 1] === 0) end-- // fragments are padded to an even length
  if (end >= 2 && encoded[end - 2] === 0xff && encoded[end - 1] === 0xd9) return encoded
  const ended = new Uint8Array(encoded.length + 2)
  ended.set(encoded)
  ended.set([0xff, 0xd9], encoded.length)
  return ended
}

const CHARLS = ['@cornerstonejs/codec-charls/decodewasmjs', 'JpegLSDecoder'] as const
const OPENJPEG = ['@cornerstonejs/codec-openjpeg/decodewasmjs', 'J2KDecoder'] as const
const LIBJPEG_TURBO = ['@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs', 'JPEGDecoder'] as const

/**
 * Wavelet decomposition levels of a JPEG 2000 codestream, from the COD marker of its main header
 * (ISO 15444-1 A.6.1); null when there is none before the first tile.
 */
export function jpeg2000Decompositions(codestream: Uint8Array): number | null {
  // a JP2 file wraps the codestream in boxes; DICOM carries the bare codestream, starting FF 4F
  if (codestream[0] !== 0xff || codestream[1] !== 0x4f) return null
  for (let i = 2; i + 4 <= codestream.length;) {
    if (codestream[i] !== 0xff) return null
    const marker = codestream[i + 1]
    if (marker === 0x90) return null // SOT: the main header ended without a COD
    const length = (codestream[i + 2] << 8) | codestream[i + 3]
    // COD: Lcod(2) Scod(1) progression(1) layers(2) MCT(1) then the decomposition count
    if (marker === 0x52) return i + 9 < codestream.length ? codestream[i + 9] : null
    i += 2 + length
  }
  return null
}

export const decodeJpegLs = (encoded: Uint8Array) => run(...CHARLS, endedJpegLs(encoded))
/**
 * `level` > 0 decodes only the wavelet's low-pass band at that level (a 2^level-times smaller image,
 * ceil-rounded), skipping the code-blocks of every finer resolution: the viewer's preview. It must not
 * exceed the codestream's decomposition count (jpeg2000Decompositions).
 */
export const decodeJpeg2000 = (encoded: Uint8Array, level = 0) => run(...OPENJPEG, encoded, level)
export const decodeJpeg8 = (encoded: Uint8Array) => run(...LIBJPEG_TURBO, encoded)

const CODEC_OF_SYNTAX: Record<string, readonly [string, string]> = {
  [TS.jpegLsLossless]: CHARLS,
  [TS.jpegLsNearLossless]: CHARLS,
  [TS.jpeg2000Lossless]: OPENJPEG,
  [TS.jpeg2000]: OPENJPEG,
  [TS.jpegBaseline]: LIBJPEG_TURBO,
  [TS.jpegExtended]: LIBJPEG_TURBO
}

/**
 * Compiles the WASM codecs these transfer syntaxes need (a few hundred ms each on a busy machine),
 * so the first such image does not wait for it; returns the codecs now loaded.
 */
export async function preloadCodecs(transferSyntaxUids: Iterable<string>): Promise<string[]> {
  const codecs = new Map<string, readonly [string, string]>()
  for (const uid of transferSyntaxUids) {
    const codec = CODEC_OF_SYNTAX[uid]
    if (codec) codecs.set(codec[0], codec)
  }
  await Promise.all([...codecs.values()].map(([moduleId, className]) => decoderClass(moduleId, className)))
  return [...codecs.keys()]
}
