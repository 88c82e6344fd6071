// The back end behind the contract, written once in plain Node: the web host serves it over HTTP,
// the desktop app runs it in a utility process, and the CLI uses its services directly. This file
// only composes the services (one module per feature) and maps each call of the contract to one.
import { availableParallelism } from 'node:os'
import { version } from '../../package.json'
import type { EventName, EventOf } from '../../common/contract'
import type { DecodedCacheConfig } from '../core/dicom/decoded-cache/store'
import { computeEda } from '../core/eda'
import { UserError } from '../core/errors'
import { removeWorkspaceLeftovers } from '../core/workspace'
import { DatasetService } from './datasets/service'
import type { Handlers } from './dispatch'
import { validateFolder } from './folders'
import { JobService } from './jobs/job-service'
import type { WorkerLauncher } from './jobs/launcher'
import { ExportService } from './export/service'
import type { SecretStore } from './pacs/secrets'
import { PacsService } from './pacs/service'
import { PredictionService } from './prediction/service'
import { datasetQuality } from './quality'
import { RunsService } from './training/runs'
import { TrainingService } from './training/service'
import type { ImageDecoder } from './viewer/pixels'
import { ViewerService } from './viewer/service'

/**
 * Decoded images the back end keeps (32 of 2k x 2k 16-bit). The page keeps its own 192 MB of what it
 * showed (renderer/src/viewer/image-loader.ts); with 512 MB here the two caches plus a bare host and
 * browser came to 1.9 GB on a 1,000-image walk (npm run bench:load), over the 1.5 GB the app allows.
 */
const DECODE_CACHE_BYTES = 256 * 1024 * 1024

/** The decoded-pixel cache's place and bound; none (said in the log) when settings.json is unreadable. */
async function decodedCacheOf(
  workspace: string,
  logError: (message: string) => void
): Promise<DecodedCacheConfig | null> {
  const { workspaceDecodedCacheConfig } = await import('../core/dicom/decoded-cache/store')
  return workspaceDecodedCacheConfig(workspace).catch((err: Error) => {
    logError(`decoded-pixel cache off: ${err.message}`)
    return null
  })
}

export interface BackendOptions {
  workspace: string
  host: 'electron' | 'web'
  /** The decoder for the viewer, prefetches and background work (thumbnails, pixel checks); a DecodePool by default. */
  decoder?: ImageDecoder
  /** How job workers start: Node child processes by default, Electron utility processes in the app. */
  launcher?: WorkerLauncher
  /** Bound of the workspace's on-disk thumbnail cache; default 256 MB. */
  thumbnailCacheBytes?: number
  /** Where DICOMweb passwords and tokens are kept: the OS keychain in the app, a 0600 file otherwise. */
  secrets?: SecretStore
  logError?: (message: string) => void
}

export interface Backend {
  handlers: Handlers
  jobs: JobService
  onEvent(listener: (event: EventName, payload: unknown) => void): () => void
  logError: (message: string) => void
  close(): Promise<void>
}

export function createBackend(options: BackendOptions): Backend {
  const { workspace } = options
  const logError = options.logError ?? ((message: string) => process.stderr.write(`${message}\n`))
  const listeners = new Set<(event: EventName, payload: unknown) => void>()
  const emit = <E extends EventName>(event: E, payload: EventOf<E>) => {
    for (const listener of listeners) listener(event, payload)
  }
  // in the background: a tidy-up, not something the first request should wait for
  void removeWorkspaceLeftovers(workspace).then((removed) => {
    if (removed.length)
      logError(
        `workspace: removed ${removed.length} temp file(s) left by interrupted writes, e.g. ${removed[0]}`
      )
  })
  const jobs = new JobService({ launcher: options.launcher, logError })
  jobs.onJob((job) => emit('job', job))
  jobs.onEvent((event) => emit('jobEvent', event))

  // One pool with priorities: the image the user selected goes first and keeps a worker of its own,
  // prefetched neighbours next, thumbnails and pixel checks last (at least two workers, so one is free).
  let pool: Promise<ImageDecoder> | null = options.decoder ? Promise.resolve(options.decoder) : null
  // Behind it, the workspace's on-disk decoded-pixel cache (its bound from settings.json): reopening
  // an image seen in this or an earlier session reads it back instead of decoding it.
  const decoder = (): Promise<ImageDecoder> =>
    (pool ??= Promise.all([import('../core/dicom/pool'), decodedCacheOf(workspace, logError)]).then(
      ([{ DecodePool }, decodedCache]) =>
        new DecodePool({
          size: Math.max(2, availableParallelism() - 1),
          cacheBytes: DECODE_CACHE_BYTES,
          decodedCache
        })
    ))

  const datasets = new DatasetService({ workspace, jobs, decoder, logError })
  const viewer = new ViewerService({
    workspace,
    datasets,
    decoder,
    thumbnailCacheBytes: options.thumbnailCacheBytes
  })
  const runs = new RunsService(workspace, jobs)
  const training = new TrainingService({ workspace, jobs, datasets, runs })
  const predictions = new PredictionService({ workspace, jobs, datasets, runs })
  const exports = new ExportService({ workspace, jobs, datasets, runs, predictions, decoder })
  const pacs = new PacsService({ workspace, jobs, secrets: options.secrets, logError })
  const session = (datasetId: string) => datasets.session(datasetId)

  const handlers: Handlers = {
    appInfo: async () => ({
      version,
      host: options.host,
      workspace,
      platform: process.platform,
      nativeDialog: options.host === 'electron'
    }),
    recentDatasets: () => datasets.recent.list(),
    forgetRecent: ({ datasetId }) => datasets.recent.forget(datasetId),
    pickFolder: async () => {
      throw new UserError('there is no folder dialog in the browser; type the folder path instead')
    },
    openDataset: async ({ path, jobId }) => datasets.open(await validateFolder(path), jobId),
    openDemo: ({ jobId }) => datasets.openDemo(jobId),
    listJobs: async () => jobs.list(),
    attachJob: async ({ jobId }) => jobs.attach(jobId),
    cancelJob: async ({ jobId }) => ({ cancelled: jobs.cancel(jobId) }),
    datasetSummary: async ({ datasetId }) => (await session(datasetId)).summary(),
    listImages: async ({ datasetId }) => (await session(datasetId)).imageRows(),
    setPolicy: async ({ datasetId, policy }) => {
      const found = await session(datasetId)
      found.setPolicy(policy)
      return found.summary()
    },
    eda: async ({ datasetId }) => ({ ...computeEda((await session(datasetId)).dataset) }),
    quality: async ({ datasetId, pixels, jobId }) =>
      datasetQuality(await session(datasetId), { pixels, jobId, jobs, decoder }),
    imageTags: ({ datasetId, imageId }) => viewer.tags(datasetId, imageId),
    loadPredictions: ({ datasetId, path }) => viewer.loadPredictions(datasetId, path),
    predictions: ({ datasetId, imageId }) => viewer.predictions(datasetId, imageId),
    usePredictions: ({ datasetId, predictionId }) => predictions.use(datasetId, predictionId),
    predictionTable: ({ datasetId }) => viewer.predictionTable(datasetId),
    startPrediction: (request) => predictions.start(request),
    listPredictions: () => predictions.list(),
    deletePrediction: ({ predictionId }) => predictions.delete(predictionId),
    evaluatePrediction: ({ predictionId, threshold }) => predictions.evaluate(predictionId, threshold),
    checkOutput: ({ path, kind, suggest }) => exports.check(path, kind, suggest),
    exportDataset: (request) => exports.exportDataset(request),
    exportPrediction: (request) => exports.exportPrediction(request),
    checkTraining: ({ datasetId, settings }) => training.check(datasetId, settings),
    probeBackend: () => training.probe(),
    startTraining: ({ datasetId, settings, name }) => training.start(datasetId, settings, name),
    resumeTraining: ({ runId, epochs, timeLimitMinutes }) =>
      training.resume(runId, { epochs, timeLimitMinutes }),
    listRuns: () => runs.list(),
    readRun: ({ runId }) => runs.read(runId),
    createEnsemble: (request) => runs.createEnsemble(request),
    openRun: ({ path }) => runs.open(path),
    deleteRun: ({ runId }) => runs.delete(runId),
    importModel: (request) => runs.importModel(request),
    pacsServers: () => pacs.list(),
    pacsSaveServer: (draft) => pacs.save(draft),
    pacsDeleteServer: ({ serverId, removeCache }) => pacs.delete(serverId, removeCache),
    pacsTest: (request) => pacs.test(request),
    pacsSearch: ({ serverId, query }) => pacs.search(serverId, query),
    pacsSeries: ({ serverId, studyUid }) => pacs.series(serverId, studyUid),
    pacsRetrieve: (request) => pacs.retrieve(request),
    pacsCache: ({ serverId }) => pacs.cache(serverId),
    imagePixels: ({ datasetId, imageId, prefetch }) => viewer.pixels(datasetId, imageId, prefetch),
    imagePreview: ({ datasetId, imageId }) => viewer.preview(datasetId, imageId),
    thumbnail: ({ datasetId, imageId, size }) => viewer.thumbnail(datasetId, imageId, size)
  }

  return {
    handlers,
    jobs,
    logError,
    onEvent(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    async close() {
      await jobs.close()
      await (await pool)?.close()
    }
  }
}
