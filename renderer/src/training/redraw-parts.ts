// The dashboard's state object is not reactive: each part of the page redraws when its version
// ticks, and only the parts an event touched (a step must not re-render the log, the samples and the
// epoch charts). Ticks are batched: a fast run sends tens of steps a second.
import { reactive } from 'vue'
import type { JobEventName } from '../../../common/contract'

export type Part = 'step' | 'epoch' | 'log' | 'samples' | 'meta'

const ALL_PARTS: readonly Part[] = ['step', 'epoch', 'log', 'samples', 'meta']

/** The part of the page each job event changes. */
export const PART_OF: Record<JobEventName, Part> = {
  start: 'meta',
  step: 'step',
  epoch: 'epoch',
  samples: 'samples',
  log: 'log',
  retrieve: 'meta',
  end: 'meta'
}

export interface PartRedraw {
  /** Read in a computed to re-run it when that part redraws. */
  versions: Readonly<Record<Part, number>>
  /** Redraws these parts (all by default) within `intervalMs`. */
  redrawSoon(parts?: Iterable<Part>): void
  stop(): void
}

export function partRedraw(intervalMs: number): PartRedraw {
  const versions = reactive<Record<Part, number>>({ step: 0, epoch: 0, log: 0, samples: 0, meta: 0 })
  const dirty = new Set<Part>()
  let timer: ReturnType<typeof setTimeout> | null = null

  function redrawSoon(parts: Iterable<Part> = ALL_PARTS): void {
    for (const part of parts) dirty.add(part)
    timer ??= setTimeout(() => {
      timer = null
      for (const part of dirty) versions[part]++
      dirty.clear()
    }, intervalMs)
  }

  function stop(): void {
    if (timer) clearTimeout(timer)
  }

  return { versions, redrawSoon, stop }
}
