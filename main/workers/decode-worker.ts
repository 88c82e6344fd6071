// Decode worker thread: decodes DICOM frames and renders display/thumbnail images off the main
// thread. Typed arrays go back transferred, not copied.
import { parentPort } from 'node:worker_threads'
import { renderDisplay, resizeGray } from '../../common/pixels'
import type { DecodedImage } from '../../common/pixels'
import { FileReadError, errorMessage } from '../core/errors'
import { decodeFile } from '../core/dicom/decode'
import type { DecodeRequest, DecodeResponse } from '../core/dicom/pool-protocol'

if (!parentPort) throw new Error('decode-worker must run as a worker thread')
const port = parentPort

function thumbnailSize(width: number, height: number, size: number): [number, number] {
  const scale = Math.min(1, size / Math.max(width, height))
  return [Math.max(1, Math.round(width * scale)), Math.max(1, Math.round(height * scale))]
}

port.on('message', async (request: DecodeRequest) => {
  try {
    let response: DecodeResponse
    const transfer: ArrayBuffer[] = []
    if (request.op === 'decode') {
      const image = await decodeFile(request.absPath, request.relPath)
      transfer.push(image.pixels.buffer as ArrayBuffer)
      response = { id: request.id, ok: true, image }
    } else {
      let image: DecodedImage | undefined = request.image
      const decodedHere = !image
      image ??= await decodeFile(request.absPath, request.relPath)
      let pixels = renderDisplay(image, request.display)
      let width = image.columns
      let height = image.rows
      if (request.thumbnail) {
        ;[width, height] = thumbnailSize(width, height, request.thumbnail)
        pixels = resizeGray(pixels, image.columns, image.rows, width, height)
      }
      transfer.push(pixels.buffer as ArrayBuffer)
      // hand a fresh decode back too, so the pool can cache it for the next window/level change
      if (decodedHere) transfer.push(image.pixels.buffer as ArrayBuffer)
      response = {
        id: request.id,
        ok: true,
        gray: { width, height, pixels },
        ...(decodedHere ? { image } : {})
      }
    }
    port.postMessage(response, transfer)
  } catch (err) {
    const response: DecodeResponse =
      err instanceof FileReadError
        ? { id: request.id, ok: false, message: err.message, path: err.path, reason: err.reason }
        : { id: request.id, ok: false, message: errorMessage(err) }
    port.postMessage(response)
  }
})
