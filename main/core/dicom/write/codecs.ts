// JPEG-LS, JPEG 2000 and JPEG baseline encoders from the @cornerstonejs WASM codec builds.
import { createRequire } from 'node:module'

const requireCodec = createRequire(import.meta.url)

/** Frame description the cornerstone encoders take (one component, greyscale). */
interface FrameInfo {
  width: number
  height: number
  bitsPerSample: number
  componentCount: number
  isSigned: boolean
}

interface WasmEncoder {
  /** A view into WASM memory sized for the frame; the caller copies the samples into it. */
  getDecodedBuffer(frame: FrameInfo): Uint8Array
  encode(): void
  /** A view into WASM memory holding the codestream; valid until the next call. */
  getEncodedBuffer(): Uint8Array
  delete(): void
}

interface JpegLsEncoder extends WasmEncoder {
  setNearLossless(near: number): void
}
interface J2kEncoder extends WasmEncoder {
  setQuality(lossless: boolean, layers: number): void
  setCompressionRatio(layer: number, ratio: number): void
  setDecompositions(count: number): void
}
interface JpegEncoder extends WasmEncoder {
  setQuality(quality: number): void
  setProgressive(progressive: boolean): void
}

interface CharLsModule {
  JpegLSEncoder: new () => JpegLsEncoder
}
interface OpenJpegModule {
  J2KEncoder: new () => J2kEncoder
}
interface LibJpegTurboModule {
  JPEGEncoder: new () => JpegEncoder
}

type Factory<T> = () => Promise<T>

// One WASM instance per codec for the whole process: instantiation costs far more than an encode.
const modules = new Map<string, Promise<unknown>>()

function loadModule<T>(specifier: string): Promise<T> {
  let module = modules.get(specifier)
  if (!module) {
    const factory = requireCodec(specifier) as Factory<T>
    module = factory()
    modules.set(specifier, module)
  }
  return module as Promise<T>
}

/** Samples as the codecs expect them: bytes for up to 8 bits, little-endian 16-bit words above. */
export interface CodecFrame {
  rows: number
  columns: number
  bitsStored: number
  signed: boolean
  samples: Uint8Array | Uint16Array | Int16Array
}

function runEncoder(encoder: WasmEncoder, frame: CodecFrame): Uint8Array {
  try {
    const bytesPerSample = frame.bitsStored <= 8 ? 1 : 2
    const target = encoder.getDecodedBuffer({
      width: frame.columns,
      height: frame.rows,
      bitsPerSample: frame.bitsStored,
      componentCount: 1,
      isSigned: frame.signed
    })
    const count = frame.rows * frame.columns
    if (frame.samples instanceof Uint8Array) target.set(frame.samples)
    else if (bytesPerSample === 1) for (let i = 0; i < count; i++) target[i] = frame.samples[i] & 0xff
    else
      new Uint16Array(target.buffer, target.byteOffset, count).set(
        new Uint16Array(frame.samples.buffer, frame.samples.byteOffset, count)
      )
    encoder.encode()
    const encoded = encoder.getEncodedBuffer().slice()
    if (encoded.length === 0) throw new Error('the encoder produced no data')
    return encoded
  } finally {
    encoder.delete()
  }
}

/** JPEG-LS (CharLS); `near` 0 is lossless. Signed samples are coded as their bitsStored-bit pattern. */
export async function encodeJpegLs(frame: CodecFrame, near: number): Promise<Uint8Array> {
  const charls = await loadModule<CharLsModule>('@cornerstonejs/codec-charls/wasmjs')
  const encoder = new charls.JpegLSEncoder()
  encoder.setNearLossless(near)
  const mask = (1 << frame.bitsStored) - 1
  const samples = frame.signed ? Uint16Array.from(frame.samples, (s) => s & mask) : frame.samples
  return runEncoder(encoder, { ...frame, signed: false, samples })
}

/** JPEG 2000 codestream (OpenJPEG): reversible 5/3 wavelet when lossless, else 9/7 at a compression ratio. */
export async function encodeJ2k(
  frame: CodecFrame,
  lossless: boolean,
  compressionRatio: number
): Promise<Uint8Array> {
  const openjpeg = await loadModule<OpenJpegModule>('@cornerstonejs/codec-openjpeg/wasmjs')
  const encoder = new openjpeg.J2KEncoder()
  // each decomposition halves the image; stop before the lowest band gets smaller than 8 px
  const smallest = Math.min(frame.rows, frame.columns)
  encoder.setDecompositions(Math.max(0, Math.min(5, Math.floor(Math.log2(smallest / 8)))))
  encoder.setQuality(lossless, 1)
  encoder.setCompressionRatio(0, lossless ? 0 : compressionRatio)
  return runEncoder(encoder, frame)
}

/** 8-bit baseline sequential JPEG (libjpeg-turbo), as DICOM's JPEG Baseline (Process 1) requires. */
export async function encodeJpegBaseline(frame: CodecFrame, quality: number): Promise<Uint8Array> {
  const turbo = await loadModule<LibJpegTurboModule>('@cornerstonejs/codec-libjpeg-turbo-8bit/wasmjs')
  const encoder = new turbo.JPEGEncoder()
  encoder.setQuality(quality)
  encoder.setProgressive(false)
  return runEncoder(encoder, frame)
}
