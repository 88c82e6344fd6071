// Messages between DecodePool (main thread) and main/workers/decode-worker.ts. A worker gets one
// request at a time, so the pool's queue, not the worker's, decides what runs next.
import type { DecodedImage, DisplayOptions, GrayImage } from '../../../common/pixels'
import type { DecodedCacheConfig } from './decoded-cache/store'
import type { PixelStats } from './pixel-stats'
import type { ImagePreview } from './preview'

/**
 * The workspace's on-disk decoded-pixel cache for a request that decodes: read before decoding, and
 * with `save`, a fresh decode written after the answer went back (background work only reads it).
 */
export interface DecodeCacheUse {
  config: DecodedCacheConfig
  save: boolean
}

export type DecodeRequest =
  /** `stats`: also the viewer's range and auto window, computed in the worker. */
  | { id: number; op: 'decode'; absPath: string; relPath: string; stats: boolean; cache?: DecodeCacheUse }
  /**
   * Decodes (or uses `image`, a copy of a cached decode) and renders; `thumbnail` also shrinks it.
   * `returnImage`: hand a fresh decode back for the pool's cache.
   */
  | {
      id: number
      op: 'render'
      absPath: string
      relPath: string
      image?: DecodedImage
      display: DisplayOptions
      thumbnail?: number
      returnImage: boolean
      cache?: DecodeCacheUse
    }
  /** The viewer's first pixels (core/dicom/preview.ts), and the full decode when it took one. */
  | {
      id: number
      op: 'preview'
      absPath: string
      relPath: string
      maxSide?: number
      /** On a hit the cached full image answers instead of a preview; a full decode made for the preview is written. */
      cache?: DecodeCacheUse
    }
  /** Loads the worker and the codecs these transfer syntaxes need. */
  | { id: number; op: 'warm'; transferSyntaxUids: string[] }

export type DecodeResponse =
  | {
      id: number
      ok: true
      image?: DecodedImage
      stats?: PixelStats
      gray?: GrayImage
      /** warm: the codec modules now loaded. */
      codecs?: string[]
      /** preview: the reduced image (null: small enough to send whole); `image`/`stats` carry a full decode. */
      preview?: ImagePreview | null
    }
  | { id: number; ok: false; message: string; path?: string; reason?: string }
