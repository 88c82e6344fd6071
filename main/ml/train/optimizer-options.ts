// The optimizers' settings and defaults, apart from their tfjs implementation (optimizer.ts), so
// that resolving a training configuration (CLI, back end, form checks) does not load tfjs.
import type { OptimizerName } from '../../../common/training'

export interface OptimizerOptions {
  name: OptimizerName
  /**
   * AdamW: decoupled decay, p <- p - lr * wd * p. Adam and SGD: L2 added to the gradient. Applied
   * only to weights of rank >= 2 (conv and dense kernels), never to biases or batch-norm gamma/beta.
   */
  weightDecay: number
  beta1: number
  beta2: number
  epsilon: number
  /** SGD momentum (PyTorch convention: buf = momentum * buf + g; p -= lr * buf). */
  momentum: number
}

export const OPTIMIZER_DEFAULTS: Record<OptimizerName, OptimizerOptions> = {
  adamw: { name: 'adamw', weightDecay: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, momentum: 0 },
  adam: { name: 'adam', weightDecay: 0, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, momentum: 0 },
  sgd: { name: 'sgd', weightDecay: 1e-4, beta1: 0, beta2: 0, epsilon: 0, momentum: 0.9 }
}

