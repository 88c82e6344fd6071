// Gradients of a scalar loss w.r.t. variables, like tf.variableGrads, but releasing memory as the
// backward pass goes. tfjs-core 4.22 (tape.ts) keeps every saved activation and every intermediate
// gradient until the whole pass ends, so the peak is about four times the forward activations: the
// tiny detector at 256 px, batch 8, needed 3.1 GB of WASM's 4 GB heap. Here each tape node's saved
// tensors and output gradients are freed once the node is processed (as PyTorch's autograd does).
// It uses Engine internals of the pinned tfjs version and falls back to tf.variableGrads without them.
import * as tf from '@tensorflow/tfjs-core'

interface TapeNode {
  id: number
  kernelName: string
  inputs: Record<string, tf.Tensor>
  outputs: tf.Tensor[]
  saved?: tf.Tensor[]
  gradient?: (dys: Array<tf.Tensor | null>) => Record<string, () => tf.Tensor>
}

interface EngineInternals {
  state: { activeTape: TapeNode[] | null; gradientDepth: number }
  startTape(): void
  endTape(): void
  scopedRun<T>(start: () => void, end: () => void, f: () => T): T
}

export interface VariableGrads {
  value: tf.Scalar
  /** Keyed by tfjs variable name (what optimizer.applyGradients expects). */
  grads: tf.NamedTensorMap
}

export function variableGrads(f: () => tf.Scalar, variables: tf.Variable[]): VariableGrads {
  const engine = tf.engine() as unknown as EngineInternals
  const usable =
    typeof engine.startTape === 'function' &&
    typeof engine.scopedRun === 'function' &&
    engine.state?.gradientDepth === 0
  if (!usable) return tf.variableGrads(f, variables)

  const value = engine.scopedRun(
    () => engine.startTape(),
    () => engine.endTape(),
    () => tf.tidy(f)
  )
  if (!(value instanceof tf.Tensor) || value.rank !== 0)
    throw new Error('the loss function must return a scalar tensor')
  const tape = engine.state.activeTape ?? []
  try {
    const grads = tf.tidy(() => backpropagate(filterTape(tape, variables, value), variables, value))
    const named: tf.NamedTensorMap = {}
    variables.forEach((v, i) => {
      if (grads[i]) named[v.name] = grads[i]!
    })
    if (Object.keys(named).length === 0) {
      throw new Error(
        'none of the variables affects the loss (no connection between them and the loss tensor)'
      )
    }
    return { value, grads: named }
  } finally {
    for (const node of tape) for (const t of node.saved ?? []) t.dispose()
    engine.state.activeTape = null
  }
}

function backpropagate(
  nodes: TapeNode[],
  variables: tf.Variable[],
  y: tf.Scalar
): Array<tf.Tensor | undefined> {
  const accumulated = new Map<number, tf.Tensor>([[y.id, tf.onesLike(y)]])
  const keepIds = new Set(variables.map((v) => v.id))
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i]
    if (!node.gradient)
      throw new Error(`cannot compute the gradient of ${node.kernelName}: no gradient function registered`)
    const dys = node.outputs.map((o) => accumulated.get(o.id) ?? null)
    const inputNames = Object.keys(node.inputs)
    // one tidy per node: everything the gradient function allocates besides the dx's dies here
    const dxs = tf.tidy(() => {
      const gradients = node.gradient!(dys)
      return inputNames.map((name) => {
        if (!(name in gradients))
          throw new Error(`cannot backprop through input ${name} of ${node.kernelName}`)
        return gradients[name]()
      })
    })
    const returned = new Set(dxs)
    // This node was the last consumer of its outputs' gradients and of its saved tensors.
    for (const o of node.outputs) {
      const dy = accumulated.get(o.id)
      if (dy && !keepIds.has(o.id)) {
        accumulated.delete(o.id)
        if (!returned.has(dy)) dy.dispose()
      }
    }
    for (const t of node.saved ?? []) if (!returned.has(t)) t.dispose()
    inputNames.forEach((name, k) => {
      const x = node.inputs[name]
      const dx = dxs[k]
      if (dx.dtype !== 'float32')
        throw new Error(`gradient of ${node.kernelName} input ${name} is ${dx.dtype}, not float32`)
      if (!sameShape(dx.shape, x.shape))
        throw new Error(
          `gradient of ${node.kernelName} input ${name} has shape [${dx.shape}], input has [${x.shape}]`
        )
      const current = accumulated.get(x.id)
      if (!current) {
        accumulated.set(x.id, dx)
      } else {
        accumulated.set(x.id, tf.add(current, dx))
        current.dispose()
        dx.dispose()
      }
    })
  }
  const grads = variables.map((v) => accumulated.get(v.id))
  for (const [id, t] of accumulated) if (!keepIds.has(id)) t.dispose()
  return grads
}

/** The tape nodes on a path from a variable to y, with inputs not depending on a variable pruned (tfjs' getFilteredNodesXToY). */
function filterTape(tape: TapeNode[], variables: tf.Variable[], y: tf.Tensor): TapeNode[] {
  const fromX = new Set<number>(variables.map((v) => v.id))
  const nodesFromX = new Set<number>()
  for (const node of tape) {
    if (Object.values(node.inputs).some((input) => fromX.has(input.id))) {
      for (const o of node.outputs) fromX.add(o.id)
      nodesFromX.add(node.id)
    }
  }
  const leadToY = new Set<number>([y.id])
  const nodesToY = new Set<number>()
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i]
    if (node.outputs.some((o) => leadToY.has(o.id))) {
      for (const input of Object.values(node.inputs)) leadToY.add(input.id)
      nodesToY.add(node.id)
    }
  }
  return tape
    .filter((node) => nodesFromX.has(node.id) && nodesToY.has(node.id))
    .map((node) => ({
      ...node,
      inputs: Object.fromEntries(Object.entries(node.inputs).filter(([, input]) => fromX.has(input.id)))
    }))
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i])
}
