// Worker thread of the parser fuzz test: reads one file the ways the app does and reports each
// outcome. It runs apart from the test so that a hang can be ended (terminate) and counted.
import { parentPort } from 'node:worker_threads'
import { displayLut, renderDisplay, resizeThroughLut } from '../../../common/pixels'
import { readDicomTags } from '../../../main/backend/viewer/dicom-tags'
import { decodeFile } from '../../../main/core/dicom/decode'
import { readHeader } from '../../../main/core/dicom/header'
import { pixelStats } from '../../../main/core/dicom/pixel-stats'
import { FileReadError } from '../../../main/core/errors'

export interface StageOutcome {
  stage: 'header' | 'tags' | 'decode'
  ok: boolean
  /** Constructor name of what was thrown (FileReadError for a clear error). */
  errorClass?: string
  message?: string
  /** A FileReadError's path and reason. */
  path?: string
  reason?: string
  ms: number
}

export interface ExamineRequest {
  id: number
  absPath: string
  relPath: string
}

export interface ExamineResponse {
  id: number
  stages: StageOutcome[]
  /** How far the process's peak resident memory rose during this file (MB). */
  peakRiseMb: number
}

async function stage(name: StageOutcome['stage'], run: () => Promise<unknown>): Promise<StageOutcome> {
  const start = performance.now()
  try {
    await run()
    return { stage: name, ok: true, ms: performance.now() - start }
  } catch (err) {
    const ms = performance.now() - start
    if (err instanceof FileReadError)
      return { stage: name, ok: false, errorClass: 'FileReadError', message: err.message, path: err.path, reason: err.reason, ms }
    const errorClass = err instanceof Error ? err.constructor.name : typeof err
    return { stage: name, ok: false, errorClass, message: err instanceof Error ? `${err.message}\n${err.stack}` : String(err), ms }
  }
}

/**
 * What the decode worker does with a file (main/workers/decode-worker.ts): decode on the calling
 * thread, the viewer's stats, the display image, and a thumbnail through the display table.
 */
async function decodeLikeTheWorker(absPath: string, relPath: string): Promise<void> {
  const image = await decodeFile(absPath, relPath, { syncRead: true })
  pixelStats(image)
  renderDisplay(image, {})
  if (!(image.pixels instanceof Int32Array)) {
    const { min, lut } = displayLut(image, {})
    const scale = Math.min(1, 64 / Math.max(image.columns, image.rows))
    const width = Math.max(1, Math.round(image.columns * scale))
    const height = Math.max(1, Math.round(image.rows * scale))
    resizeThroughLut(image.pixels, lut, min, image.columns, image.rows, width, height)
  }
}

parentPort!.on('message', async ({ id, absPath, relPath }: ExamineRequest) => {
  const before = process.resourceUsage().maxRSS
  const stages = [
    await stage('header', () => readHeader(absPath, relPath)),
    await stage('tags', () => readDicomTags(absPath, relPath)),
    await stage('decode', () => decodeLikeTheWorker(absPath, relPath))
  ]
  const response: ExamineResponse = { id, stages, peakRiseMb: (process.resourceUsage().maxRSS - before) / 1024 }
  parentPort!.postMessage(response)
})
