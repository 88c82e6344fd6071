// Decode worker thread: decodes DICOM frames and renders display/thumbnail images off the main
// thread. Typed arrays go back transferred, not copied.
import { parentPort } from 'node:worker_threads'
import { displayLut, renderDisplay, resizeGray, resizeThroughLut } from '../../common/pixels'
import type { DecodedImage } from '../../common/pixels'
import { FileReadError, errorMessage } from '../core/errors'
import { preloadCodecs } from '../core/dicom/codecs/wasm'
import { decodeFile } from '../core/dicom/decode'
import { pixelStats } from '../core/dicom/pixel-stats'
import type { DecodeRequest, DecodeResponse } from '../core/dicom/pool-protocol'

if (!parentPort) throw new Error('decode-worker must run as a worker thread')
const port = parentPort

function thumbnailSize(width: number, height: number, size: number): [number, number] {
  const scale = Math.min(1, size / Math.max(width, height))
  return [Math.max(1, Math.round(width * scale)), Math.max(1, Math.round(height * scale))]
}

async function handle(request: DecodeRequest): Promise<[DecodeResponse, ArrayBuffer[]]> {
  if (request.op === 'warm') {
    return [{ id: request.id, ok: true, codecs: await preloadCodecs(request.transferSyntaxUids) }, []]
  }
  if (request.op === 'decode') {
    const image = await decodeFile(request.absPath, request.relPath, { syncRead: true })
    const stats = request.stats ? pixelStats(image) : undefined
    return [{ id: request.id, ok: true, image, stats }, [image.pixels.buffer as ArrayBuffer]]
  }
  let image: DecodedImage | undefined = request.image
  const decodedHere = !image
  image ??= await decodeFile(request.absPath, request.relPath, { syncRead: true })
  let pixels: Uint8Array
  let width = image.columns
  let height = image.rows
  if (!request.thumbnail) pixels = renderDisplay(image, request.display)
  else {
    ;[width, height] = thumbnailSize(width, height, request.thumbnail)
    // up to 16-bit stored values: shrink straight through the display table (32-bit spans are too wide for one)
    if (image.pixels instanceof Int32Array)
      pixels = resizeGray(renderDisplay(image, request.display), image.columns, image.rows, width, height)
    else {
      const { min, lut } = displayLut(image, request.display)
      pixels = resizeThroughLut(image.pixels, lut, min, image.columns, image.rows, width, height)
    }
  }
  const transfer = [pixels.buffer as ArrayBuffer]
  // a fresh decode goes back too when asked, so the pool can cache it for the next window/level change
  const returnImage = decodedHere && request.returnImage
  if (returnImage) transfer.push(image.pixels.buffer as ArrayBuffer)
  return [
    { id: request.id, ok: true, gray: { width, height, pixels }, ...(returnImage ? { image } : {}) },
    transfer
  ]
}

port.on('message', async (request: DecodeRequest) => {
  try {
    const [response, transfer] = await handle(request)
    port.postMessage(response, transfer)
  } catch (err) {
    const response: DecodeResponse =
      err instanceof FileReadError
        ? { id: request.id, ok: false, message: err.message, path: err.path, reason: err.reason }
        : { id: request.id, ok: false, message: errorMessage(err) }
    port.postMessage(response)
  }
})
