// What each supported format's ONNX graph must look like, checked on the session's metadata before a
// model is imported, so a wrong --format or a mismatched shape is an error naming what was expected.
//
// Layouts, as the engines define them:
// - YOLOv5 (ultralytics/yolov5 export.py, models/yolo.py Detect): input `images` [1, 3, S, S] RGB
//   float 0-1, letterboxed (utils/augmentations.py letterbox: ratio kept, centred, colour 114);
//   output [1, N, 5 + nc] = cx, cy, w, h (input pixels), objectness, class scores; utils/general.py
//   non_max_suppression: `nc = prediction.shape[2] - 5`, `x[:, 5:] *= x[:, 4:5]` (conf = obj x cls),
//   `conf, j = x[:, 5:].max(1)` when multi_label is off.
// - YOLOv8 (ultralytics/utils/ops.py non_max_suppression): the same input; output
//   "(batch_size, num_classes + 4 + num_masks, num_boxes)" = cx, cy, w, h, class scores, no objectness.
// - torchvision detection models (FasterRCNN/RetinaNet/FCOS docs: "a list of tensors, each of shape
//   [C, H, W] ... in 0-1 range"; in eval mode boxes FloatTensor[N, 4] x1 y1 x2 y2, labels Int64Tensor[N],
//   scores Tensor[N]); exported with torch.onnx.export the input is one [3, H, W] tensor and the
//   model resizes and normalises inside the graph; Faster R-CNN's label 0 is the background.
import type * as Ort from 'onnxruntime-node'
import { UserError } from '../../core/errors'
import type { ImportedFormat } from './model-config'

export interface GraphIo {
  inputName: string
  outputNames: string[]
  /** S when the graph fixes it. */
  fixedSize: number | null
  classCount: number | null
  /** torchvision: which output is which. */
  roles?: { boxes: string; labels: string; scores: string }
}

type Dim = number | string
interface ValueInfo {
  name: string
  type: string
  shape: Dim[]
}

/** Input/output names, types and shapes of a session (onnxruntime-node >= 1.20 exposes them). */
export function describeGraph(session: Ort.InferenceSession): { inputs: ValueInfo[]; outputs: ValueInfo[] } {
  const read = (list: readonly unknown[] | undefined, names: readonly string[]): ValueInfo[] =>
    names.map((name, i) => {
      const meta = (list?.[i] ?? {}) as { isTensor?: boolean; type?: string; shape?: Dim[] }
      return { name, type: meta.type ?? 'unknown', shape: meta.isTensor === false ? [] : (meta.shape ?? []) }
    })
  const s = session as unknown as { inputMetadata?: unknown[]; outputMetadata?: unknown[] }
  return { inputs: read(s.inputMetadata, session.inputNames), outputs: read(s.outputMetadata, session.outputNames) }
}

export function shapeText(shape: readonly Dim[]): string {
  return `[${shape.map((d) => (typeof d === 'number' && d >= 0 ? String(d) : '?')).join(', ')}]`
}

const known = (d: Dim | undefined): d is number => typeof d === 'number' && d > 0

/** Checks the graph against `format`; throws a UserError naming `file`, what was expected and found. */
export function checkGraph(
  file: string,
  format: ImportedFormat,
  graph: { inputs: ValueInfo[]; outputs: ValueInfo[] }
): GraphIo {
  const fail = (expected: string, found: string, hint = ''): never => {
    throw new UserError(`${file}: not a ${format} model: expected ${expected}, found ${found}${hint}`)
  }
  const found = (values: ValueInfo[]) =>
    values.map((v) => `${v.name} ${v.type} ${shapeText(v.shape)}`).join(', ') || 'none'
  if (graph.inputs.length !== 1) fail('one input', `${graph.inputs.length} (${found(graph.inputs)})`)
  const input = graph.inputs[0]
  if (input.type !== 'float32') fail('a float32 input', found(graph.inputs))
  if (format === 'torchvision') return checkTorchvision(graph, input, fail, found)
  const [batch, channels, h, w] = input.shape
  if (input.shape.length !== 4 || (known(channels) && channels !== 3) || (known(batch) && batch !== 1))
    fail(
      'input [1, 3, S, S]',
      `${input.name} ${shapeText(input.shape)}`,
      input.shape.length === 3 ? ' (a [3, H, W] input is the torchvision layout: try --format torchvision)' : ''
    )
  if (known(h) && known(w) && h !== w) fail('a square input [1, 3, S, S]', shapeText(input.shape))
  if (graph.outputs.length < 1) fail('one output', 'none')
  const output = graph.outputs[0]
  if (output.type !== 'float32' || output.shape.length !== 3)
    fail(
      format === 'yolov5' ? 'output [1, N, 5 + nc]' : 'output [1, 4 + nc, N]',
      found(graph.outputs),
      graph.outputs.length === 3 ? ' (three outputs is the torchvision layout: try --format torchvision)' : ''
    )
  const [, a, b] = output.shape
  // the channel axis is the short one: N is thousands of grid cells, 5 + nc a handful
  let classCount: number | null = null
  if (format === 'yolov5') {
    if (known(a) && known(b) && a < b)
      fail('output [1, N, 5 + nc] (N boxes > 5 + nc)', shapeText(output.shape), ' (this is the YOLOv8 layout [1, 4 + nc, N]: try --format yolov8)')
    if (known(b) && b < 6) fail('output [1, N, 5 + nc] with nc >= 1', shapeText(output.shape))
    classCount = known(b) ? b - 5 : null
  } else {
    if (known(a) && known(b) && a > b)
      fail('output [1, 4 + nc, N] (4 + nc < N boxes)', shapeText(output.shape), ' (this is the YOLOv5 layout [1, N, 5 + nc]: try --format yolov5)')
    if (known(a) && a < 5) fail('output [1, 4 + nc, N] with nc >= 1', shapeText(output.shape))
    classCount = known(a) ? a - 4 : null
  }
  return {
    inputName: input.name,
    outputNames: [output.name],
    fixedSize: known(h) ? h : known(w) ? w : null,
    classCount
  }
}

function checkTorchvision(
  graph: { inputs: ValueInfo[]; outputs: ValueInfo[] },
  input: ValueInfo,
  fail: (expected: string, found: string, hint?: string) => never,
  found: (values: ValueInfo[]) => string
): GraphIo {
  if (input.shape.length !== 3 || (known(input.shape[0]) && input.shape[0] !== 3))
    fail(
      'input [3, H, W] (torch.onnx.export of a list of one image)',
      `${input.name} ${shapeText(input.shape)}`,
      input.shape.length === 4 ? ' (a [1, 3, S, S] input is the YOLO layout: try --format yolov5 or yolov8)' : ''
    )
  const byName = (name: string) => graph.outputs.find((o) => o.name === name)
  const boxes = byName('boxes') ?? graph.outputs.find((o) => o.type === 'float32' && o.shape.length === 2)
  const labels = byName('labels') ?? graph.outputs.find((o) => o.type === 'int64' && o.shape.length === 1)
  const scores =
    byName('scores') ?? graph.outputs.find((o) => o.type === 'float32' && o.shape.length === 1 && o !== boxes)
  const expected = 'outputs boxes float32 [N, 4], labels int64 [N], scores float32 [N]'
  if (!boxes || !labels || !scores) fail(expected, found(graph.outputs))
  if (boxes!.shape.length !== 2 || (known(boxes!.shape[1]) && boxes!.shape[1] !== 4) || boxes!.type !== 'float32')
    fail(expected, found(graph.outputs))
  if (labels!.shape.length !== 1 || !['int64', 'int32'].includes(labels!.type)) fail(expected, found(graph.outputs))
  if (scores!.shape.length !== 1 || scores!.type !== 'float32') fail(expected, found(graph.outputs))
  const [, h, w] = input.shape
  return {
    inputName: input.name,
    outputNames: [boxes!.name, labels!.name, scores!.name],
    fixedSize: known(h) && known(w) && h === w ? h : null,
    classCount: null,
    roles: { boxes: boxes!.name, labels: labels!.name, scores: scores!.name }
  }
}

/** The study classifier's I/O: one [1, 3, S, S] input, a [1, 4] output, optionally a [1, 1] one. */
export function checkStudyGraph(
  file: string,
  graph: { inputs: ValueInfo[]; outputs: ValueInfo[] }
): { inputName: string; fixedSize: number | null; hasNone: boolean } {
  const input = graph.inputs[0]
  const outputs = graph.outputs
  const text = (values: ValueInfo[]) => values.map((v) => `${v.name} ${shapeText(v.shape)}`).join(', ')
  if (graph.inputs.length !== 1 || input.shape.length !== 4 || (known(input.shape[1]) && input.shape[1] !== 3))
    throw new UserError(`${file}: a study model needs one input [1, 3, S, S]; found ${text(graph.inputs)}`)
  const width = (v: ValueInfo | undefined) => v?.shape.at(-1)
  if (!outputs[0] || (known(width(outputs[0])) && width(outputs[0]) !== 4))
    throw new UserError(
      `${file}: a study model's first output must be [1, 4] (negative, typical, indeterminate, atypical); found ${text(outputs)}`
    )
  if (outputs[1] && known(width(outputs[1])) && width(outputs[1]) !== 1)
    throw new UserError(`${file}: a study model's second output, if any, must be [1, 1] (none); found ${text(outputs)}`)
  const [, , h] = input.shape
  return { inputName: input.name, fixedSize: known(h) ? h : null, hasNone: outputs.length > 1 }
}
