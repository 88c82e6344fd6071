// A small ONNX graph builder over onnx-proto (the protobufjs build of onnx.proto): named values,
// float initializers, nodes with typed attributes, and the serialized ModelProto. Feature maps are
// NCHW with static spatial sizes, so 'same' padding is written as explicit pads (TF's SAME pads the
// extra pixel at the end, as ONNX's SAME_UPPER would).
import onnxProto from 'onnx-proto'

const { onnx } = onnxProto

/** Opset 13: Clip/Resize/Softmax with the semantics used here, loaded by every ONNX Runtime since 1.6. */
export const OPSET = 13
/** IR version 7 goes with opset 13. */
const IR_VERSION = 7

/** An NCHW feature map in the graph, with its static channel count and spatial size. */
export interface FeatureMap {
  name: string
  channels: number
  height: number
  width: number
}

type AttributeValue = number | number[] | string | { floats: number[] }

export class GraphBuilder {
  private readonly nodes: InstanceType<typeof onnx.NodeProto>[] = []
  private readonly initializers: InstanceType<typeof onnx.TensorProto>[] = []
  private readonly used = new Set<string>()
  private readonly scalars = new Map<number, string>()

  /** A fresh value name from `hint` (module paths make the graph readable in Netron). */
  unique(hint: string): string {
    const base = hint.replace(/[^A-Za-z0-9_./-]/g, '_') || 'value'
    let name = base
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`
    this.used.add(name)
    return name
  }

  /** A float32 initializer. */
  constant(hint: string, dims: readonly number[], values: Float32Array): string {
    const name = this.unique(hint)
    this.initializers.push(
      onnx.TensorProto.create({
        name,
        dims: [...dims],
        dataType: onnx.TensorProto.DataType.FLOAT,
        rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength)
      })
    )
    return name
  }

  /** A float32 scalar initializer, shared by every use of the same value. */
  scalar(value: number): string {
    const known = this.scalars.get(value)
    if (known) return known
    const name = this.constant(`const_${value}`, [], Float32Array.of(value))
    this.scalars.set(value, name)
    return name
  }

  /** An int64 initializer (shapes, axes). */
  int64s(hint: string, values: readonly number[]): string {
    const name = this.unique(hint)
    const data = new BigInt64Array(values.map((v) => BigInt(v)))
    this.initializers.push(
      onnx.TensorProto.create({
        name,
        dims: [values.length],
        dataType: onnx.TensorProto.DataType.INT64,
        rawData: new Uint8Array(data.buffer)
      })
    )
    return name
  }

  /** Adds a node with one output and answers that output's name. */
  node(
    opType: string,
    inputs: readonly string[],
    hint: string,
    attributes: Record<string, AttributeValue> = {}
  ): string {
    const output = this.unique(hint)
    this.nodes.push(
      onnx.NodeProto.create({
        opType,
        name: output,
        input: [...inputs],
        output: [output],
        attribute: Object.entries(attributes).map(([name, value]) => attribute(name, value))
      })
    )
    return output
  }

  /** Renames a value by an Identity node (graph outputs get stable names). */
  output(value: string, name: string): string {
    this.used.add(name)
    this.nodes.push(onnx.NodeProto.create({ opType: 'Identity', name, input: [value], output: [name] }))
    return name
  }

  /** The serialized model. `inputs`/`outputs`: name and shape (a string is a symbolic dimension). */
  serialize(options: {
    graphName: string
    inputs: Array<{ name: string; shape: Array<number | string> }>
    outputs: Array<{ name: string; shape: Array<number | string> }>
    producerVersion: string
    docString: string
    metadata: Record<string, string>
  }): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: IR_VERSION,
      opsetImport: [{ domain: '', version: OPSET }],
      producerName: 'cxr-studio',
      producerVersion: options.producerVersion,
      docString: options.docString,
      metadataProps: Object.entries(options.metadata).map(([key, value]) => ({ key, value })),
      graph: {
        name: options.graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: options.inputs.map(valueInfo),
        output: options.outputs.map(valueInfo)
      }
    })
    return onnx.ModelProto.encode(model).finish()
  }
}

function valueInfo(value: { name: string; shape: Array<number | string> }) {
  return {
    name: value.name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: {
          dim: value.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }))
        }
      }
    }
  }
}

function attribute(name: string, value: AttributeValue) {
  const { AttributeType } = onnx.AttributeProto
  if (typeof value === 'string')
    return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value) }
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error(`attribute ${name}: ${value} is not an integer`)
    return { name, type: AttributeType.INT, i: value }
  }
  if (Array.isArray(value)) return { name, type: AttributeType.INTS, ints: value }
  return { name, type: AttributeType.FLOATS, floats: value.floats }
}

/** TF 'same' padding of one spatial axis: output size and [begin, end] pads (extra pixel at the end). */
export function samePadding(
  size: number,
  kernel: number,
  stride: number
): { out: number; pads: [number, number] } {
  const out = Math.ceil(size / stride)
  const total = Math.max((out - 1) * stride + kernel - size, 0)
  const begin = Math.floor(total / 2)
  return { out, pads: [begin, total - begin] }
}
