// A small module system over tfjs-core: modules own named variables and child modules, so a model
// has stable weight names (`backbone/blocks.3/expand_conv/kernel`), per-group trainable flags and
// batch-norm modes, without tfjs-layers.
import * as tf from '@tensorflow/tfjs-core'

export interface ForwardOptions {
  /** Training mode: batch statistics in un-frozen batch norms (and their running stats update), dropout. */
  training: boolean
}

/** `weight`s are learned; `state` (batch-norm running mean/variance) is saved but never trained. */
export type ParamKind = 'weight' | 'state'

export interface NamedVariable {
  name: string
  variable: tf.Variable
  kind: ParamKind
}

export class Module {
  private readonly params = new Map<string, { variable: tf.Variable; kind: ParamKind }>()
  private readonly childModules = new Map<string, Module>()
  /** The layer name of the same weights in a Keras / TF.js Layers model, for pretrained import. */
  sourceName: string | null = null

  /** Registers a variable. tfjs names stay automatic (unique per process); ours is the path. */
  protected addParam(
    name: string,
    shape: readonly number[],
    values: Float32Array,
    kind: ParamKind = 'weight'
  ): tf.Variable {
    if (this.params.has(name) || this.childModules.has(name))
      throw new Error(`duplicate parameter name ${name}`)
    const variable = tf.variable(tf.tensor(values, [...shape], 'float32'), kind === 'weight')
    this.params.set(name, { variable, kind })
    return variable
  }

  protected addChild<T extends Module>(name: string, module: T): T {
    if (this.params.has(name) || this.childModules.has(name)) throw new Error(`duplicate child name ${name}`)
    this.childModules.set(name, module)
    return module
  }

  children(): Array<[string, Module]> {
    return [...this.childModules.entries()]
  }

  /** This module and every descendant, depth-first in registration order, with their paths. */
  modules(prefix = ''): Array<[string, Module]> {
    const out: Array<[string, Module]> = [[prefix, this]]
    for (const [name, child] of this.childModules) out.push(...child.modules(join(prefix, name)))
    return out
  }

  /** Variables of this module only (not its children). */
  ownVariables(): Array<{ name: string; variable: tf.Variable; kind: ParamKind }> {
    return [...this.params.entries()].map(([name, p]) => ({ name, ...p }))
  }

  /** Every variable below this module, named by path, in a stable order (registration order). */
  namedVariables(prefix = ''): NamedVariable[] {
    const out: NamedVariable[] = []
    for (const [path, module] of this.modules(prefix)) {
      for (const p of module.ownVariables())
        out.push({ name: join(path, p.name), variable: p.variable, kind: p.kind })
    }
    return out
  }

  /** Sets whether the learned weights below this module receive gradients. State is never trainable. */
  setTrainable(trainable: boolean): void {
    for (const p of this.namedVariables()) if (p.kind === 'weight') p.variable.trainable = trainable
  }

  dispose(): void {
    for (const p of this.namedVariables()) p.variable.dispose()
  }
}

function join(prefix: string, name: string): string {
  return prefix ? `${prefix}/${name}` : name
}
