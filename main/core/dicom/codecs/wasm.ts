// The Cornerstone WASM codecs (CharLS, OpenJPEG, libjpeg-turbo 8-bit), each loaded once, on first use.
import { createRequire } from 'node:module'

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

export const decodeJpegLs = (encoded: Uint8Array) =>
  run('@cornerstonejs/codec-charls/decodewasmjs', 'JpegLSDecoder', encoded)
export const decodeJpeg2000 = (encoded: Uint8Array) =>
  run('@cornerstonejs/codec-openjpeg/decodewasmjs', 'J2KDecoder', encoded)
export const decodeJpeg8 = (encoded: Uint8Array) =>
  run('@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs', 'JPEGDecoder', encoded)
