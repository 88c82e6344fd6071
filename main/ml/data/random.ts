// Seeded randomness for the data pipeline. Every random choice is drawn from a generator keyed by
// what it is for (seed, purpose, epoch, imageId), so results do not depend on prefetch timing and a
// resumed run sees exactly the batches and augmentations it would have seen.

import { mulberry32 } from '../../core/export/split'

export type Rng = () => number

/** FNV-1a over the parts' text, then a murmur finaliser: a 32-bit key for a generator. */
function hashParts(parts: ReadonlyArray<string | number>): number {
  let h = 0x811c9dc5
  const text = parts.join('\u0000')
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** A generator for one purpose, e.g. `seededRng(42, 'order', epoch)`. */
export function seededRng(...parts: Array<string | number>): Rng {
  return mulberry32(hashParts(parts))
}

export function uniformIn(rng: Rng, low: number, high: number): number {
  return low + (high - low) * rng()
}

/** Fisher-Yates shuffle of a copy. */
export function shuffled<T>(items: readonly T[], rng: Rng): T[] {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1))
    ;[out[i], out[j]] = [out[j], out[i]]
  }
  return out
}
