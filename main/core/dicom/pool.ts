// A pool of decode worker threads with a priority queue and an LRU of decoded images bounded by
// bytes, so the app, the web host and the CLI never decode on their main thread, and the image the
// user asked for never waits behind thumbnails or prefetches.
import { LRUCache } from 'lru-cache'
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import type { DecodedImage, DisplayOptions, GrayImage } from '../../../common/pixels'
import { FileReadError } from '../errors'
import { workerScript } from '../worker-scripts'
import type { DecodedCacheConfig } from './decoded-cache/store'
import { pixelStats, type PixelStats } from './pixel-stats'
import type { DecodeCacheUse, DecodeRequest, DecodeResponse } from './pool-protocol'
import type { ImagePreview } from './preview'

export interface DecodePoolOptions {
  /** Worker threads; default: cores - 1, at least 1. */
  size?: number
  /** Bound of the decoded-image cache in bytes; default 512 MB. */
  cacheBytes?: number
  /** The built worker script; default: decode-worker.js beside this bundle, else out/node/. */
  workerPath?: string
  /**
   * The workspace's on-disk decoded-pixel cache (core/dicom/decoded-cache): workers read it before
   * decoding and write fresh decodes of everything but background work. Default: none.
   */
  decodedCache?: DecodedCacheConfig | null
}

/**
 * 'view': an image the user is waiting for (the default for decode and renderDisplay). It runs
 * before everything queued and supersedes queued prefetches. 'prefetch': ahead of need.
 * 'background': work nobody looks at yet (thumbnails, pixel checks); its decodes are not cached.
 * Neither of the last two starts while a 'view' job runs, nor takes the pool's last free worker.
 */
export type DecodePriority = 'view' | 'prefetch' | 'background'

export interface DecodeJobOptions {
  priority?: DecodePriority
  /**
   * Wanted only while the image is the one shown (the viewer's full pixels): the next preview() of
   * another image drops it, queued or running; a running decode's worker is stopped and replaced, as
   * a JPEG 2000 decode would otherwise hold the next image's preview for seconds. A caller that joins
   * the decode without this flag keeps it.
   */
  abandonable?: boolean
}

/** A queued prefetch or preview, or an abandonable decode, dropped because the user asked for another image meanwhile. */
export class DecodeSupersededError extends Error {
  override name = 'DecodeSupersededError'
  constructor(
    readonly path: string,
    work: 'prefetch' | 'preview' | 'decode' = 'prefetch'
  ) {
    super(`${path}: ${work} superseded by a newer request`)
  }
}

export interface WarmResult {
  /** Thread ids of the started workers. */
  threadIds: number[]
  /** The codec modules loaded in them. */
  codecs: string[]
}

/** The bundled decode worker (see core/worker-scripts.ts). */
export function findDecodeWorker(): string {
  return workerScript('decode-worker')
}

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never
type Done = DecodeResponse & { ok: true }

const RANK: Record<DecodePriority, number> = { view: 0, prefetch: 1, background: 2 }

interface Job {
  message: WithoutId<DecodeRequest>
  rank: number
  /** Arrival order within a rank. */
  seq: number
  started: boolean
  /** Keep the decode in the cache (some caller other than background work wants it). */
  cache: boolean
  /** Every caller waiting on it asked for DecodeJobOptions.abandonable. */
  abandonable: boolean
  promise: Promise<Done>
  resolve: (response: Done) => void
  reject: (err: Error) => void
}

interface Slot {
  worker: Worker
  /** The one request this worker is running: the queue, not the worker, decides what comes next. */
  job: { id: number; job: Job } | null
  /** Warm-ups answered outside the queue. */
  warmups: Map<number, Pick<Job, 'resolve' | 'reject'>>
}

interface Decoded {
  image: DecodedImage
  stats?: PixelStats
}

export class DecodePool {
  private readonly slots: (Slot | null)[]
  private readonly cache: LRUCache<string, Decoded>
  private readonly inflight = new Map<string, { job: Job; decoded: Promise<Decoded> }>()
  private readonly queue: Job[] = []
  private readonly workerPath: string
  private nextId = 1
  private nextSeq = 1
  private closed = false
  private decodedCache: DecodedCacheConfig | null

  constructor(options: DecodePoolOptions = {}) {
    const size = Math.max(1, options.size ?? availableParallelism() - 1)
    this.slots = Array.from({ length: size }, () => null)
    this.workerPath = options.workerPath ?? findDecodeWorker()
    this.decodedCache = options.decodedCache?.maxBytes ? options.decodedCache : null
    this.cache = new LRUCache<string, Decoded>({
      maxSize: options.cacheBytes ?? 512 * 1024 * 1024,
      sizeCalculation: ({ image }) => image.pixels.byteLength + 1024
    })
  }

  get workerCount(): number {
    return this.slots.length
  }

  /** Uses (or with null, stops using) an on-disk decoded-pixel cache from the next request on. */
  useDecodedCache(config: DecodedCacheConfig | null): void {
    this.decodedCache = config?.maxBytes ? config : null
  }

  /**
   * Starts every worker and loads the codecs of these transfer syntaxes in each, so the first
   * image after opening a dataset does not pay for thread start-up and WASM compilation.
   */
  async warm(transferSyntaxUids: Iterable<string> = []): Promise<WarmResult> {
    const uids = [...new Set(transferSyntaxUids)]
    const answers = await Promise.all(
      this.slots.map(async (_, index) => {
        const slot = this.slotAt(index)
        const id = this.nextId++
        const answer = new Promise<Done>((resolve, reject) => slot.warmups.set(id, { resolve, reject }))
        slot.worker.ref()
        slot.worker.postMessage({ op: 'warm', transferSyntaxUids: uids, id } satisfies DecodeRequest)
        return { threadId: slot.worker.threadId, codecs: (await answer).codecs ?? [] }
      })
    )
    return {
      threadIds: answers.map((answer) => answer.threadId),
      codecs: [...new Set(answers.flatMap((answer) => answer.codecs))]
    }
  }

  /** Frame 0 of the file as stored values; cached, so treat the result as read-only. */
  async decode(
    absPath: string,
    relPath: string = absPath,
    job: DecodeJobOptions = {}
  ): Promise<DecodedImage> {
    return (await this.decoded(absPath, relPath, job.priority ?? 'view', false, job.abandonable)).image
  }

  /** decode() plus the viewer's range and auto window, computed in the worker with the decode. */
  async decodeWithStats(
    absPath: string,
    relPath: string = absPath,
    job: DecodeJobOptions = {}
  ): Promise<{ image: DecodedImage; stats: PixelStats }> {
    const entry = await this.decoded(absPath, relPath, job.priority ?? 'view', true, job.abandonable)
    // decoded earlier without stats (by decode() or a render): compute them here, once
    entry.stats ??= pixelStats(entry.image)
    return { image: entry.image, stats: entry.stats }
  }

  /**
   * The viewer's first pixels (core/dicom/preview.ts) at 'view' priority; null when the full image is
   * as quick: small, already decoded, in the on-disk decoded-pixel cache (the worker then answers with
   * it), or being decoded (that decode is then promoted to 'view'). A
   * full decode made for the preview is cached for the decode() that follows. A newer preview drops
   * queued ones: the user has moved on.
   */
  async preview(absPath: string, relPath: string = absPath, maxSide?: number): Promise<ImagePreview | null> {
    this.supersedeViews(absPath)
    if (this.cache.has(absPath)) return null
    const pending = this.inflight.get(absPath)
    if (pending) {
      this.promote(pending.job, RANK.view)
      return null
    }
    const job = this.enqueue(
      { op: 'preview', absPath, relPath, maxSide, cache: this.cacheUse(true) },
      RANK.view,
      true
    )
    const response = await job.promise
    if (response.image && !this.cache.has(absPath))
      this.cache.set(absPath, { image: response.image, stats: response.stats })
    return response.preview ?? null
  }

  /** The display image (modality LUT, VOI, MONOCHROME1 inversion), rendered in a worker. */
  renderDisplay(
    absPath: string,
    options: DisplayOptions = {},
    relPath: string = absPath,
    job: DecodeJobOptions = {}
  ): Promise<GrayImage> {
    return this.render(absPath, relPath, options, job.priority ?? 'view')
  }

  /** A display thumbnail whose longer side is at most `size` pixels (area-averaged); background work by default. */
  thumbnail(
    absPath: string,
    size: number,
    options: DisplayOptions = {},
    relPath: string = absPath,
    job: DecodeJobOptions = {}
  ): Promise<GrayImage> {
    return this.render(absPath, relPath, options, job.priority ?? 'background', size)
  }

  async close(): Promise<void> {
    this.closed = true
    this.cache.clear()
    const closed = new Error('DecodePool is closed')
    for (const job of this.queue.splice(0)) job.reject(closed)
    for (const slot of this.slots) {
      slot?.job?.job.reject(closed)
      for (const waiter of slot?.warmups.values() ?? []) waiter.reject(closed)
    }
    await Promise.all(this.slots.map((slot) => slot?.worker.terminate()))
    this.slots.fill(null)
  }

  private decoded(
    absPath: string,
    relPath: string,
    priority: DecodePriority,
    stats: boolean,
    abandonable = false
  ): Promise<Decoded> {
    const cached = this.cache.get(absPath)
    if (cached) return Promise.resolve(cached)
    const rank = RANK[priority]
    let pending = this.inflight.get(absPath)
    if (pending) {
      this.promote(pending.job, rank)
      if (rank === RANK.view) this.supersedePrefetches()
      pending.job.abandonable &&= abandonable
      pending.job.cache ||= priority !== 'background'
      // a queued decode can still be asked for the stats, and to keep its result on disk
      if (!pending.job.started && pending.job.message.op === 'decode') {
        if (stats) pending.job.message.stats = true
        if (priority !== 'background') pending.job.message.cache = this.cacheUse(true)
      }
    } else {
      const job = this.enqueue(
        { op: 'decode', absPath, relPath, stats, cache: this.cacheUse(priority !== 'background') },
        rank,
        priority !== 'background'
      )
      job.abandonable = abandonable
      const decoded = job.promise.then((response) => {
        const entry: Decoded = { image: response.image!, stats: response.stats }
        if (job.cache) this.cache.set(absPath, entry)
        return entry
      })
      decoded.finally(() => this.inflight.delete(absPath)).catch(() => undefined)
      pending = { job, decoded }
      this.inflight.set(absPath, pending)
    }
    return pending.decoded
  }

  private render(
    absPath: string,
    relPath: string,
    display: DisplayOptions,
    priority: DecodePriority,
    thumbnail?: number
  ): Promise<GrayImage> {
    const pending = this.inflight.get(absPath)
    if (!pending)
      return this.renderDecoded(absPath, relPath, display, priority, thumbnail, this.cache.get(absPath))
    // the file is being decoded: render from that decode rather than decoding it twice
    this.promote(pending.job, RANK[priority])
    return pending.decoded
      .catch(() => undefined)
      .then((entry) => this.renderDecoded(absPath, relPath, display, priority, thumbnail, entry))
  }

  private async renderDecoded(
    absPath: string,
    relPath: string,
    display: DisplayOptions,
    priority: DecodePriority,
    thumbnail: number | undefined,
    entry: Decoded | undefined
  ): Promise<GrayImage> {
    const keep = priority !== 'background'
    // a cached image travels as a copy (structured clone); a fresh decode comes back with the render
    const job = this.enqueue(
      {
        op: 'render',
        absPath,
        relPath,
        display,
        thumbnail,
        returnImage: keep && !entry,
        ...(entry ? { image: entry.image } : { cache: this.cacheUse(keep) })
      },
      RANK[priority],
      keep
    )
    const response = await job.promise
    if (response.image) this.cache.set(absPath, { image: response.image })
    return response.gray!
  }

  private cacheUse(save: boolean): DecodeCacheUse | undefined {
    return this.decodedCache ? { config: this.decodedCache, save } : undefined
  }

  private enqueue(message: WithoutId<DecodeRequest>, rank: number, cache: boolean): Job {
    let settle!: Pick<Job, 'resolve' | 'reject'>
    const promise = new Promise<Done>((resolve, reject) => (settle = { resolve, reject }))
    const job: Job = {
      message,
      rank,
      seq: this.nextSeq++,
      started: false,
      cache,
      abandonable: false,
      promise,
      ...settle
    }
    if (this.closed) {
      job.reject(new Error('DecodePool is closed'))
      return job
    }
    if (rank === RANK.view) this.supersedePrefetches()
    this.queue.push(job)
    this.pump()
    return job
  }

  /** Raises a queued job to a more urgent priority (a prefetch the user now waits for). */
  private promote(job: Job, rank: number): void {
    if (job.started || rank >= job.rank) return
    job.rank = rank
    this.pump()
  }

  /** The user asked for another image: prefetches queued around the previous one are stale. */
  private supersedePrefetches(): void {
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const job = this.queue[i]
      if (job.rank !== RANK.prefetch || job.message.op === 'warm') continue
      this.queue.splice(i, 1)
      job.reject(new DecodeSupersededError(job.message.relPath))
    }
  }

  /**
   * The viewer moved to `absPath`: queued previews and abandonable decodes of other images are
   * dropped, and a worker running an abandonable decode of another image is stopped (respawned on
   * next use; its codecs load again, a fraction of what a JPEG 2000 decode has left to run).
   */
  private supersedeViews(absPath: string): void {
    const stale = (job: Job) =>
      (job.message.op === 'preview' || (job.message.op === 'decode' && job.abandonable)) &&
      job.message.absPath !== absPath
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const job = this.queue[i]
      if (!stale(job) || job.message.op === 'warm') continue
      this.queue.splice(i, 1)
      job.reject(
        new DecodeSupersededError(job.message.relPath, job.message.op === 'preview' ? 'preview' : 'decode')
      )
    }
    this.slots.forEach((slot, index) => {
      const running = slot?.job?.job
      if (!slot || !running || running.message.op !== 'decode' || !stale(running)) return
      slot.job = null
      this.slots[index] = null
      void slot.worker.terminate()
      running.reject(new DecodeSupersededError(running.message.relPath, 'decode'))
    })
  }

  /** Starts queued jobs on idle workers, most urgent first, while the priority rules allow. */
  private pump(): void {
    while (!this.closed && this.queue.length > 0) {
      const job = this.nextRunnable()
      const index = job ? this.idleSlotIndex() : -1
      if (!job || index < 0) return
      this.queue.splice(this.queue.indexOf(job), 1)
      this.start(index, job)
    }
  }

  private nextRunnable(): Job | undefined {
    let best: Job | undefined
    for (const job of this.queue) {
      if (!best || job.rank < best.rank || (job.rank === best.rank && job.seq < best.seq)) best = job
    }
    if (!best || best.rank === RANK.view) return best
    // Lower priorities never compete with a decode the user waits on, and leave a worker free for the next one.
    let busy = 0
    for (const slot of this.slots) {
      if (!slot?.job) continue
      if (slot.job.job.rank === RANK.view) return undefined
      busy++
    }
    const reserved = this.slots.length > 1 ? 1 : 0
    return busy < this.slots.length - reserved ? best : undefined
  }

  /** An idle started worker if there is one, else a free place for a new one; -1 when all are busy. */
  private idleSlotIndex(): number {
    let empty = -1
    for (let i = 0; i < this.slots.length; i++) {
      const slot = this.slots[i]
      if (slot && !slot.job) return i
      if (!slot && empty < 0) empty = i
    }
    return empty
  }

  private start(index: number, job: Job): void {
    const slot = this.slotAt(index)
    const id = this.nextId++
    job.started = true
    slot.job = { id, job }
    slot.worker.ref() // keep the process alive while work is outstanding
    slot.worker.postMessage({ ...job.message, id } as DecodeRequest)
  }

  private slotAt(index: number): Slot {
    if (this.closed) throw new Error('DecodePool is closed')
    return (this.slots[index] ??= this.spawn(index))
  }

  private spawn(index: number): Slot {
    const worker = new Worker(this.workerPath)
    const slot: Slot = { worker, job: null, warmups: new Map() }
    worker.unref()
    worker.on('message', (response: DecodeResponse) => {
      let waiter: Pick<Job, 'resolve' | 'reject'> | undefined = slot.warmups.get(response.id)
      if (waiter) slot.warmups.delete(response.id)
      else if (slot.job?.id === response.id) {
        waiter = slot.job.job
        slot.job = null
      }
      if (!waiter) return
      if (!slot.job && slot.warmups.size === 0) worker.unref()
      if (response.ok) waiter.resolve(response)
      else
        waiter.reject(
          response.path && response.reason
            ? new FileReadError(response.path, response.reason)
            : new Error(response.message)
        )
      this.pump()
    })
    const fail = (err: Error) => {
      const failure = new Error(`decode worker failed: ${err.message}`)
      slot.job?.job.reject(failure)
      for (const waiter of slot.warmups.values()) waiter.reject(failure)
      slot.job = null
      slot.warmups.clear()
      if (this.slots[index] === slot) this.slots[index] = null // respawned on next use
      this.pump()
    }
    worker.on('error', fail)
    worker.on('exit', (code) => {
      if (!this.closed) fail(new Error(`exited with code ${code}`))
    })
    return slot
  }
}
