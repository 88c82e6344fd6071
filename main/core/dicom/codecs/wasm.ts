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

async function run(moduleId: string, className: string, encoded: Uint8Array): Promise<CodecFrame> {
  const Decoder = await decoderClass(moduleId, className)
  const decoder = new Decoder()
  try {
    decoder.getEncodedBuffer(encoded.length).set(encoded)
    decoder.decode()
    const info = decoder.getFrameInfo()
    return {
      width: info.width,
      height: info.height,
      bitsPerSample: info.bitsPerSample,
      componentCount: info.componentCount,
      isSigned: Boolean(info.isSigned),
      bytes: decoder.getDecodedBuffer().slice()
    }
  } finally {
    decoder.delete()
  }
}

const CHARLS = ['@cornerstonejs/codec-charls/decodewasmjs', 'JpegLSDecoder'] as const
const OPENJPEG = ['@cornerstonejs/codec-openjpeg/decodewasmjs', 'J2KDecoder'] as const
const LIBJPEG_TURBO = ['@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs', 'JPEGDecoder'] as const

export const decodeJpegLs = (encoded: Uint8Array) => run(...CHARLS, encoded)
export const decodeJpeg2000 = (encoded: Uint8Array) => run(...OPENJPEG, encoded)
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
