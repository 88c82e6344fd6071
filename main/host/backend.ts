// The back end behind the contract, written once in plain Node: the web host serves it over HTTP
// and the desktop app runs it in a utility process. Each handler is a thin use of a core service.
import { EventEmitter } from 'node:events'
import { availableParallelism } from 'node:os'
import { version } from '../../package.json'
import { QUALITY_RULES, QUALITY_RULE_NAMES, qualityReport } from '../core/quality'
import { computeEda } from '../core/eda'
import { openDataset, POLICY_DESCRIPTIONS } from '../core/dataset'
import { UserError } from '../core/errors'
import type { DatasetSummary, EventName, EventOf, JobProgress, QualityReport } from '../../common/contract'
import type { Progress } from '../../common/domain'
import type { Handlers } from './dispatch'
import { validateFile, validateFolder } from './folders'
import { ensureDemoDataset } from './demo'
import { cachedThumbnail, pixelPayload, type ImageDecoder } from './pixels'
import { ThumbnailCache } from './thumbnail-cache'
import { readSubmissionPredictions } from './predictions'
import { RecentDatasets } from './recent'
import { datasetIdOf, DatasetSession } from './session'

export interface BackendOptions {
  workspace: string
  host: 'electron' | 'web'
  /** The decoder for the viewer, prefetches and background work (thumbnails, pixel checks); a DecodePool by default. */
  decoder?: ImageDecoder
  /** Bound of the workspace's on-disk thumbnail cache; default 256 MB. */
  thumbnailCacheBytes?: number
  logError?: (message: string) => void
}

export interface Backend {
  handlers: Handlers
  onEvent(listener: (event: EventName, payload: unknown) => void): () => void
  logError: (message: string) => void
  close(): Promise<void>
}

/** Progress events at most this often per job: enough for a smooth bar, not a flood over IPC. */
const PROGRESS_INTERVAL_MS = 100

export function createBackend(options: BackendOptions): Backend {
  const { workspace } = options
  const logError = options.logError ?? ((message: string) => process.stderr.write(`${message}\n`))
  const emitter = new EventEmitter()
  const emit = <E extends EventName>(event: E, payload: EventOf<E>) => emitter.emit('event', event, payload)
  const recent = new RecentDatasets(workspace)
  const sessions = new Map<string, DatasetSession>()
  const opening = new Map<string, Promise<DatasetSession>>()
  const jobs = new Map<string, AbortController>()
  // One pool with priorities: the image the user selected goes first and keeps a worker of its own,
  // prefetched neighbours next, thumbnails and pixel checks last (at least two workers, so one is free).
  let pool: Promise<ImageDecoder> | null = options.decoder ? Promise.resolve(options.decoder) : null
  const decoder = (): Promise<ImageDecoder> =>
    (pool ??= import('../core/dicom/pool').then(
      ({ DecodePool }) => new DecodePool({ size: Math.max(2, availableParallelism() - 1) })
    ))
  const thumbnails = new ThumbnailCache(workspace, options.thumbnailCacheBytes)

  /** Runs `work` as a job the renderer can follow (progress events) and cancel (cancelJob). */
  const job = async <T>(
    jobId: string | undefined,
    work: (onProgress: (p: Progress) => void, signal: AbortSignal) => Promise<T>
  ): Promise<T> => {
    const controller = new AbortController()
    if (jobId) jobs.set(jobId, controller)
    let last = 0
    const onProgress = (progress: Progress) => {
      const now = Date.now()
      if (!jobId || (now - last < PROGRESS_INTERVAL_MS && progress.done < progress.total)) return
      last = now
      emit('progress', { jobId, ...progress } satisfies JobProgress)
    }
    try {
      return await work(onProgress, controller.signal)
    } catch (err) {
      if (controller.signal.aborted) throw new UserError('cancelled')
      throw err
    } finally {
      if (jobId) jobs.delete(jobId)
    }
  }

  const open = async (root: string, jobId?: string): Promise<DatasetSummary> => {
    const datasetId = datasetIdOf(workspace, root)
    let pending = opening.get(datasetId)
    if (!pending) {
      pending = job(
        jobId,
        async (onProgress, signal) =>
          new DatasetSession(await openDataset(root, { workspace, onProgress, signal }), workspace)
      )
      opening.set(datasetId, pending)
      pending.finally(() => opening.delete(datasetId)).catch(() => undefined)
    }
    const session = await pending
    sessions.set(session.datasetId, session)
    // start the decode workers and this dataset's codecs now, not on the first image the user picks
    const syntaxes = new Set(session.dataset.images.flatMap((image) => image.record?.transferSyntaxUid ?? []))
    void decoder()
      .then((found) => found.warm(syntaxes))
      .catch((err: Error) => logError(`warming the decode workers failed: ${err.message}`))
    const summary = session.summary()
    await recent.add({
      datasetId: summary.datasetId,
      root: summary.root,
      name: summary.name,
      openedAt: Date.now(),
      images: summary.images
    })
    return summary
  }

  /** A dataset by id; after a restart it is reopened from the recent list (index from the workspace cache). */
  const session = async (datasetId: string): Promise<DatasetSession> => {
    const found = sessions.get(datasetId)
    if (found) return found
    const known = (await recent.list()).find((item) => item.datasetId === datasetId)
    if (!known) throw new UserError(`dataset ${datasetId} is not open; open its folder again`)
    await open(known.root)
    return sessions.get(datasetId)!
  }

  const handlers: Handlers = {
    appInfo: async () => ({
      version,
      host: options.host,
      workspace,
      platform: process.platform,
      nativeDialog: options.host === 'electron'
    }),
    recentDatasets: () => recent.list(),
    forgetRecent: ({ datasetId }) => recent.forget(datasetId),
    pickFolder: async () => {
      throw new UserError('there is no folder dialog in the browser; type the folder path instead')
    },
    openDataset: async ({ path, jobId }) => open(await validateFolder(path), jobId),
    openDemo: async ({ jobId }) =>
      open(await job(jobId, (onProgress, signal) => ensureDemoDataset(workspace, onProgress, signal)), jobId),
    cancelJob: async ({ jobId }) => {
      const controller = jobs.get(jobId)
      controller?.abort()
      return { cancelled: Boolean(controller) }
    },
    datasetSummary: async ({ datasetId }) => (await session(datasetId)).summary(),
    listImages: async ({ datasetId }) => (await session(datasetId)).imageRows(),
    setPolicy: async ({ datasetId, policy }) => {
      const found = await session(datasetId)
      found.setPolicy(policy)
      return found.summary()
    },
    eda: async ({ datasetId }) => ({ ...computeEda((await session(datasetId)).dataset) }),
    quality: async ({ datasetId, pixels, jobId }) => {
      const found = await session(datasetId)
      const background = pixels ? await decoder() : null
      // a pixel check over the whole dataset must neither delay the viewer nor flush its cache
      const pool = background && {
        decode: (absPath: string, relPath?: string) =>
          background.decode(absPath, relPath, { priority: 'background' })
      }
      const report = await job(jobId, (onProgress, signal) =>
        qualityReport(found.dataset, { pool, workspace, policy: found.policy, onProgress, signal })
      )
      return {
        policy: report.policy,
        issues: report.issues,
        counts: report.counts,
        bySeverity: report.bySeverity,
        rules: QUALITY_RULE_NAMES.map((rule) => ({ rule, ...QUALITY_RULES[rule] })),
        policies: Object.fromEntries(
          Object.entries(report.policies).map(([policy, effect]) => [
            policy,
            { ...effect, description: POLICY_DESCRIPTIONS[policy as keyof typeof POLICY_DESCRIPTIONS] }
          ])
        ) as QualityReport['policies'],
        pixelCheck: report.pixelCheck
      }
    },
    imageTags: async ({ datasetId, imageId }) => {
      const { image, absPath } = (await session(datasetId)).file(imageId)
      const { readDicomTags } = await import('./dicom-tags')
      return readDicomTags(absPath, image.record!.path)
    },
    loadPredictions: async ({ datasetId, path }) => {
      const found = await session(datasetId)
      const file = await validateFile(path)
      found.predictions = await readSubmissionPredictions(file)
      const opacities = [...found.predictions.values()].flat().filter((p) => p.label === 'opacity')
      return { source: file, images: found.predictions.size, boxes: opacities.length }
    },
    predictions: async ({ datasetId, imageId }) => (await session(datasetId)).predictions.get(imageId) ?? [],
    imagePixels: async ({ datasetId, imageId, prefetch }) => {
      const { absPath, image } = (await session(datasetId)).file(imageId)
      const pool = await decoder()
      const started = performance.now()
      const decoded = await pool
        .decodeWithStats(absPath, image.record!.path, { priority: prefetch ? 'prefetch' : 'view' })
        .catch((err: Error) => {
          if (err instanceof UserError) throw err
          // a superseded prefetch already names the file
          throw new UserError(
            err.name === 'DecodeSupersededError' ? err.message : `${image.record!.path}: ${err.message}`
          )
        })
      return pixelPayload(imageId, decoded.image, decoded.stats, performance.now() - started)
    },
    thumbnail: async ({ datasetId, imageId, size }) => {
      const found = await session(datasetId)
      const { absPath, image } = found.file(imageId)
      return cachedThumbnail(
        await decoder(),
        thumbnails,
        found.cacheDir,
        { absPath, relPath: image.record!.path, mtimeMs: image.record!.mtimeMs },
        size
      )
    }
  }

  return {
    handlers,
    logError,
    onEvent(listener) {
      emitter.on('event', listener)
      return () => emitter.off('event', listener)
    },
    async close() {
      for (const controller of jobs.values()) controller.abort()
      await (await pool)?.close()
    }
  }
}
