// Fine-tuning strategies (as Lightning Flash names them): which backbone stages train in which epoch.
// Frozen stages also keep their batch-norm statistics fixed, so a frozen backbone is really frozen.
import { UserError } from '../../core/errors'

export type Strategy =
  | { kind: 'no_freeze' }
  | { kind: 'freeze' }
  /** Backbone frozen for epochs [0, epoch), trained from 0-based epoch `epoch` on (Flash's default 10). */
  | { kind: 'freeze_unfreeze'; epoch: number }
  /** Frozen until e1; from e1 the last `stages` backbone stages train; from e2 all of them. */
  | { kind: 'unfreeze_milestones'; milestones: [number, number]; stages: number }

export const STRATEGY_HELP =
  'no_freeze | freeze | freeze_unfreeze:E (backbone frozen for the first E epochs; Flash default E=10) | ' +
  'unfreeze_milestones:E1,E2:N (frozen until E1, then the last N backbone stages, all from E2); ' +
  "Flash's spellings freeze_unfreeze(10) and unfreeze_milestones((5,10),2) work too"

/** Parses `freeze_unfreeze:10`, `freeze_unfreeze(10)`, `unfreeze_milestones:5,10:2`, `unfreeze_milestones((5,10),2)`. */
export function parseStrategy(text: string): Strategy {
  const spec = text.trim().replace(/\s+/g, '')
  const bad = (why: string) => new UserError(`--strategy ${text}: ${why}; expected ${STRATEGY_HELP}`)
  const int = (s: string | undefined, what: string) => {
    if (s === undefined || !/^\d+$/.test(s)) throw bad(`${what} must be a whole number`)
    return Number(s)
  }
  if (spec === 'no_freeze' || spec === 'freeze') return { kind: spec }
  let m = /^freeze_unfreeze(?::(\d*)|\((\d*)\))?$/.exec(spec)
  if (m)
    return {
      kind: 'freeze_unfreeze',
      epoch: m[1] === undefined && m[2] === undefined ? 10 : int(m[1] ?? m[2], 'the unfreeze epoch')
    }
  m = /^unfreeze_milestones(?::(\d+),(\d+):(\d+)|\(\((\d+),(\d+)\),(\d+)\))$/.exec(spec)
  if (m) {
    const e1 = int(m[1] ?? m[4], 'E1')
    const e2 = int(m[2] ?? m[5], 'E2')
    const stages = int(m[3] ?? m[6], 'N')
    if (e2 < e1) throw bad('E2 must not come before E1')
    if (stages < 1) throw bad('N must be at least 1')
    return { kind: 'unfreeze_milestones', milestones: [e1, e2], stages }
  }
  throw bad('unknown strategy')
}

export function formatStrategy(strategy: Strategy): string {
  switch (strategy.kind) {
    case 'no_freeze':
    case 'freeze':
      return strategy.kind
    case 'freeze_unfreeze':
      return `freeze_unfreeze:${strategy.epoch}`
    case 'unfreeze_milestones':
      return `unfreeze_milestones:${strategy.milestones[0]},${strategy.milestones[1]}:${strategy.stages}`
  }
}

/**
 * The backbone stages frozen during 0-based `epoch`, given the backbone's stages in input-to-output
 * order. Heads, neck and the study head always train.
 */
export function frozenStagesAt(strategy: Strategy, epoch: number, stages: readonly string[]): string[] {
  switch (strategy.kind) {
    case 'no_freeze':
      return []
    case 'freeze':
      return [...stages]
    case 'freeze_unfreeze':
      return epoch < strategy.epoch ? [...stages] : []
    case 'unfreeze_milestones': {
      const [e1, e2] = strategy.milestones
      if (epoch >= e2) return []
      if (epoch >= e1) return stages.slice(0, Math.max(0, stages.length - strategy.stages))
      return [...stages]
    }
  }
}
