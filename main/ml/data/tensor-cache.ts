// Model inputs cached per image in the workspace: DICOM -> pixel pipeline (modality LUT, VOI,
// MONOCHROME1 inversion) -> letterbox to the model size -> one raw uint8 file. Later epochs, later
// runs and prediction read these few kilobytes instead of decoding megabytes of DICOM again.
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { LRUCache } from 'lru-cache'
import type { FileError, ProgressListener } from '../../../common/domain'
import { letterbox } from '../../../common/pixels'
import type { DecodedCacheConfig } from '../../core/dicom/decoded-cache/store'
import { datasetCacheDir } from '../../core/workspace'
import { errorMessage } from '../../core/errors'
import { writeFileAtomic } from '../../core/fs-atomic'
import type { ImageSample } from './samples'

/** Renders a DICOM file to display bytes (what the viewer shows; the model sees the same). */
export interface DisplaySource {
  render(absPath: string, relPath: string): Promise<{ width: number; height: number; pixels: Uint8Array }>
  /** Decode through the workspace's on-disk decoded-pixel cache from now on (null: without it). */
  useDecodedCache?(config: DecodedCacheConfig | null): void
}

/** Bumped when the preprocessing changes, so stale cache files are never read. */
export const PREPROCESS_VERSION = 1

/** How a model input is made; stored in checkpoints so prediction prepares images the same way. */
export const PREPROCESSING = {
  version: PREPROCESS_VERSION,
  voi: 'file Window Center/Width, else VOI LUT, else the 0.5-99.5 percentile window',
  invert: 'MONOCHROME1 inverted after VOI',
  resize: 'letterbox: longest side to the input size (area averaging), centred, black padding',
  input: 'uint8 / 255 -> [0, 1], one channel (the model normalises further)'
} as const

export interface PrepareResult {
  ready: ImageSample[]
  errors: FileError[]
}

export class TensorCache {
  private readonly memory: LRUCache<string, Uint8Array>

  constructor(
    /** Folder of the cache files for this dataset and size. */
    readonly dir: string,
    readonly imageSize: number,
    private readonly source: DisplaySource,
    memoryBytes = 256 * 1024 * 1024
  ) {
    this.memory = new LRUCache<string, Uint8Array>({ maxSize: memoryBytes, sizeCalculation: (v) => v.length })
  }

  /** `<workspace>/datasets/<dataset key>/tensors/<size>/`. */
  static forDataset(
    workspace: string,
    datasetRoot: string,
    imageSize: number,
    source: DisplaySource
  ): TensorCache {
    return new TensorCache(
      join(datasetCacheDir(workspace, datasetRoot), 'tensors', String(imageSize)),
      imageSize,
      source
    )
  }

  /** The cache file of a sample: its id plus a hash of what would change its pixels. */
  fileOf(sample: ImageSample): string {
    const key = createHash('sha1')
      .update([sample.relPath, sample.fileSize, sample.mtimeMs, this.imageSize, PREPROCESS_VERSION].join('|'))
      .digest('hex')
      .slice(0, 12)
    return join(this.dir, `${sample.imageId}-${key}.u8`)
  }

  /** The letterboxed uint8 input (imageSize²) of a sample: memory, then disk, then decode. */
  async load(sample: ImageSample): Promise<Uint8Array> {
    const file = this.fileOf(sample)
    const hit = this.memory.get(file)
    if (hit) return hit
    const want = this.imageSize * this.imageSize
    const cached = await readFile(file).catch(() => null)
    let pixels: Uint8Array
    if (cached && cached.length === want) {
      pixels = new Uint8Array(cached.buffer, cached.byteOffset, cached.byteLength)
    } else {
      const display = await this.source.render(sample.absPath, sample.relPath)
      pixels = letterbox(display.pixels, display.width, display.height, this.imageSize, this.imageSize).pixels
      await writeFileAtomic(file, pixels)
    }
    this.memory.set(file, pixels)
    return pixels
  }

  /**
   * Makes sure every sample is cached, `concurrency` at a time (decoding runs in the source's worker
   * threads, so several in flight keep them busy). A file that cannot be decoded becomes an error
   * record and is left out; the others go on.
   */
  async prepare(
    samples: readonly ImageSample[],
    options: { concurrency?: number; onProgress?: ProgressListener; signal?: AbortSignal } = {}
  ): Promise<PrepareResult> {
    const errors: FileError[] = []
    const ok = new Set<ImageSample>()
    let next = 0
    let done = 0
    const total = samples.length
    options.onProgress?.({ stage: 'prepare images', done, total })
    const worker = async () => {
      while (next < samples.length) {
        options.signal?.throwIfAborted()
        const sample = samples[next++]
        try {
          await this.load(sample)
          ok.add(sample)
        } catch (err) {
          errors.push({ path: sample.relPath, reason: errorMessage(err).replace(`${sample.relPath}: `, '') })
        }
        done++
        options.onProgress?.({ stage: 'prepare images', done, total })
      }
    }
    await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 2) }, worker))
    return { ready: samples.filter((s) => ok.has(s)), errors }
  }
}
