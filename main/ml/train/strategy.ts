// Fine-tuning strategies (as Lightning Flash names them): which backbone stages train in which epoch.
// Frozen stages also keep their batch-norm statistics fixed, so a frozen backbone is really frozen.
import { parseStrategy as parseStrategyText, StrategyError, type Strategy } from '../../../common/training'
import { UserError } from '../../core/errors'

export { formatStrategy, STRATEGY_HELP, type Strategy } from '../../../common/training'

/** parseStrategy of common/training.ts, its error a user error (the CLI prints it as one line). */
export function parseStrategy(text: string): Strategy {
  try {
    return parseStrategyText(text)
  } catch (err) {
    if (err instanceof StrategyError) throw new UserError(err.message)
    throw err
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
