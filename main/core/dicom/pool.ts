// A pool of decode worker threads with an LRU of decoded images bounded by bytes, so the app,
// the web host and the CLI never decode on their main thread.
import { LRUCache } from 'lru-cache'
import { existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { DecodedImage, DisplayOptions, GrayImage } from '../../../common/pixels'
import { FileReadError } from '../errors'
import type { DecodeRequest, DecodeResponse } from './pool-protocol'

export interface DecodePoolOptions {
  /** Worker threads; default: cores - 1, at least 1. */
  size?: number
  /** Bound of the decoded-image cache in bytes; default 512 MB. */
  cacheBytes?: number
  /** The built worker script; default: decode-worker.js beside this bundle, else out/node/. */
  workerPath?: string
}

/** Where the bundled worker is: next to the bundle (out/node/cli.js) or, from sources (vitest), in out/node/. */
export function findDecodeWorker(): string {
  const candidates = [
    new URL('./decode-worker.js', import.meta.url),
    new URL('../../../out/node/decode-worker.js', import.meta.url)
  ]
  for (const url of candidates) {
    const path = fileURLToPath(url)
    if (existsSync(path)) return path
  }
  throw new Error(
    'the decode worker is not built (out/node/decode-worker.js is missing): run `npm run build:node`'
  )
}

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never

interface Pending {
  resolve: (response: DecodeResponse & { ok: true }) => void
  reject: (err: Error) => void
}

interface Slot {
  worker: Worker
  pending: Map<number, Pending>
}

export class DecodePool {
  private readonly slots: (Slot | null)[]
  private readonly cache: LRUCache<string, DecodedImage>
  private readonly inflight = new Map<string, Promise<DecodedImage>>()
  private readonly workerPath: string
  private nextId = 1
  private closed = false

  constructor(options: DecodePoolOptions = {}) {
    const size = Math.max(1, options.size ?? availableParallelism() - 1)
    this.slots = Array.from({ length: size }, () => null)
    this.workerPath = options.workerPath ?? findDecodeWorker()
    this.cache = new LRUCache<string, DecodedImage>({
      maxSize: options.cacheBytes ?? 512 * 1024 * 1024,
      sizeCalculation: (image) => image.pixels.byteLength + 1024
    })
  }

  get workerCount(): number {
    return this.slots.length
  }

  /** Frame 0 of the file as stored values; cached, so treat the result as read-only. */
  decode(absPath: string, relPath: string = absPath): Promise<DecodedImage> {
    const cached = this.cache.get(absPath)
    if (cached) return Promise.resolve(cached)
    let pending = this.inflight.get(absPath)
    if (!pending) {
      pending = this.request(absPath, { op: 'decode', absPath, relPath }).then((response) => {
        this.cache.set(absPath, response.image!)
        return response.image!
      })
      pending.finally(() => this.inflight.delete(absPath)).catch(() => {})
      this.inflight.set(absPath, pending)
    }
    return pending
  }

  /** The display image (modality LUT, VOI, MONOCHROME1 inversion), rendered in a worker. */
  renderDisplay(
    absPath: string,
    options: DisplayOptions = {},
    relPath: string = absPath
  ): Promise<GrayImage> {
    return this.render(absPath, relPath, options)
  }

  /** A display thumbnail whose longer side is at most `size` pixels (area-averaged). */
  thumbnail(
    absPath: string,
    size: number,
    options: DisplayOptions = {},
    relPath: string = absPath
  ): Promise<GrayImage> {
    return this.render(absPath, relPath, options, size)
  }

  async close(): Promise<void> {
    this.closed = true
    this.cache.clear()
    await Promise.all(this.slots.map((slot) => slot?.worker.terminate()))
    this.slots.fill(null)
  }

  private async render(
    absPath: string,
    relPath: string,
    display: DisplayOptions,
    thumbnail?: number
  ): Promise<GrayImage> {
    const image = this.cache.get(absPath) ?? (await this.inflight.get(absPath)?.catch(() => undefined))
    // a cached image travels as a copy (structured clone); a fresh decode comes back with the render
    const response = await this.request(absPath, {
      op: 'render',
      absPath,
      relPath,
      display,
      thumbnail,
      ...(image ? { image } : {})
    })
    if (response.image) this.cache.set(absPath, response.image)
    return response.gray!
  }

  private slotFor(key: string): Slot {
    if (this.closed) throw new Error('DecodePool is closed')
    // the least busy worker; ties go to the one chosen by the path, so bursts spread evenly
    let hash = 0
    for (let i = 0; i < key.length; i++) hash = (hash * 31 + key.charCodeAt(i)) >>> 0
    let best = hash % this.slots.length
    for (let i = 0; i < this.slots.length; i++) {
      if ((this.slots[i]?.pending.size ?? 0) < (this.slots[best]?.pending.size ?? 0)) best = i
    }
    return (this.slots[best] ??= this.spawn(best))
  }

  private spawn(index: number): Slot {
    const worker = new Worker(this.workerPath)
    const slot: Slot = { worker, pending: new Map() }
    worker.unref()
    worker.on('message', (response: DecodeResponse) => {
      const waiter = slot.pending.get(response.id)
      if (!waiter) return
      slot.pending.delete(response.id)
      if (slot.pending.size === 0) worker.unref()
      if (response.ok) waiter.resolve(response)
      else
        waiter.reject(
          response.path && response.reason
            ? new FileReadError(response.path, response.reason)
            : new Error(response.message)
        )
    })
    const fail = (err: Error) => {
      for (const waiter of slot.pending.values())
        waiter.reject(new Error(`decode worker failed: ${err.message}`))
      slot.pending.clear()
      if (this.slots[index] === slot) this.slots[index] = null // respawned on next use
    }
    worker.on('error', fail)
    worker.on('exit', (code) => {
      if (!this.closed) fail(new Error(`exited with code ${code}`))
    })
    return slot
  }

  private request(key: string, message: WithoutId<DecodeRequest>): Promise<DecodeResponse & { ok: true }> {
    return new Promise((resolve, reject) => {
      const slot = this.slotFor(key)
      const id = this.nextId++
      slot.pending.set(id, { resolve, reject })
      slot.worker.ref() // keep the process alive while work is outstanding
      slot.worker.postMessage({ ...message, id } as DecodeRequest)
    })
  }
}
