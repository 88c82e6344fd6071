// Messages between DecodePool (main thread) and main/workers/decode-worker.ts.
import type { DecodedImage, DisplayOptions, GrayImage } from '../../../common/pixels'

export type DecodeRequest =
  | { id: number; op: 'decode'; absPath: string; relPath: string }
  /** Decodes (or uses `image`, a copy of a cached decode) and renders; `thumbnail` also shrinks it. */
  | {
      id: number
      op: 'render'
      absPath: string
      relPath: string
      image?: DecodedImage
      display: DisplayOptions
      thumbnail?: number
    }

export type DecodeResponse =
  | { id: number; ok: true; image?: DecodedImage; gray?: GrayImage }
  | { id: number; ok: false; message: string; path?: string; reason?: string }
