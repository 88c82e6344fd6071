// The ONNX export of a Detector, written from CXR Studio's own module tree: each module's inference
// forward pass (main/ml/model, main/ml/detect) emitted as ONNX nodes, batch norms folded into the
// preceding convolution exactly as ConvBn.forward folds them, depthwise convolutions as grouped Conv.
// The graph takes the tfjs input ([B, S, S, 1] greyscale in [0, 1], NHWC) and answers the
// detector's outputs (DetectorOutputs), so decoding, NMS and TTA stay the TypeScript ones.
import * as tf from '@tensorflow/tfjs-core'
import type { Detector } from '../detect/detector'
import { BiFpn, BiFpnLayer, FusionNode } from '../detect/bifpn'
import { EfficientDetHead } from '../detect/efficientdet-head'
import { FcosHead } from '../detect/fcos-head'
import { SPATIAL_STUDY_LEVEL, SpatialStudyHead } from '../detect/spatial-study-head'
import type { StudyHead } from '../detect/study-head'
import { SharedTower, TowerLayer } from '../detect/tower'
import { StagedBackbone, type Backbone } from '../model/backbone'
import { MBConv, SqueezeExcite } from '../model/efficientnet'
import {
  BatchNorm,
  Conv2d,
  ConvBn,
  DepthwiseConv2d,
  SeparableConv2d,
  type Activation,
  type Dense
} from '../model/layers'
import { InvertedResidual } from '../model/mobilenetv2'
import { ResNet, BasicBlock } from '../model/resnet'
import { GraphBuilder, samePadding, type FeatureMap } from './graph'

/** The graph's input: [batch, S, S, 1], NHWC like the tfjs pipeline. */
export const ONNX_INPUT = 'images'

/** Output names, in the order the graph lists them; `centerness` only for FCOS. */
export const ONNX_OUTPUTS = {
  classLogits: 'class_logits',
  boxRegression: 'box_regression',
  centerness: 'centerness',
  studyLogits: 'study_logits',
  noneLogits: 'none_logits',
  scores: 'scores',
  studyProbs: 'study_probs',
  noneScores: 'none_scores'
} as const

export interface OnnxExport {
  /** The serialized ModelProto. */
  bytes: Uint8Array
  inputName: string
  outputNames: string[]
}

/** A per-output-channel affine map (a folded batch norm). */
interface Affine {
  scale: Float64Array
  shift: Float64Array
}

/** Serializes `detector` (its current weights) as an ONNX model. */
export function exportDetectorOnnx(detector: Detector, metadata: Record<string, string> = {}): OnnxExport {
  const g = new GraphBuilder()
  const { config, net } = detector
  const size = config.imageSize
  g.unique(ONNX_INPUT)
  const nchw = g.node('Transpose', [ONNX_INPUT], 'input_nchw', { perm: [0, 3, 1, 2] })
  const normalised = g.node(
    'Div',
    [g.node('Sub', [nchw, g.scalar(config.inputMean)], 'input_centred'), g.scalar(config.inputStd)],
    'input_normalised'
  )
  const input: FeatureMap = { name: normalised, channels: 1, height: size, width: size }
  const { features, top } = emitBackbone(g, net.backbone, input)
  const levels = emitNeck(g, net.neck, features)
  const outputs = emitHead(g, net.head, levels)
  const study =
    net.imageHead instanceof SpatialStudyHead
      ? emitSpatialStudyHead(g, net.imageHead, levels[SPATIAL_STUDY_LEVEL - config.minLevel], top)
      : emitStudyHead(g, net.imageHead, top)

  const named: Array<{ name: string; shape: Array<number | string> }> = []
  const out = (value: string, name: string, shape: Array<number | string>) => {
    g.output(value, name)
    named.push({ name, shape })
  }
  const n = net.head.locationCount
  const classes = config.numClasses
  const studyClasses = net.imageHead.study.outFeatures
  out(outputs.classLogits, ONNX_OUTPUTS.classLogits, ['batch', n, classes])
  out(outputs.boxRegression, ONNX_OUTPUTS.boxRegression, ['batch', n, 4])
  if (outputs.centerness) out(outputs.centerness, ONNX_OUTPUTS.centerness, ['batch', n, 1])
  out(study.studyLogits, ONNX_OUTPUTS.studyLogits, ['batch', studyClasses])
  out(study.noneLogits, ONNX_OUTPUTS.noneLogits, ['batch', 1])
  out(outputs.scores, ONNX_OUTPUTS.scores, ['batch', n, classes])
  out(g.node('Softmax', [study.studyLogits], 'study_softmax', { axis: 1 }), ONNX_OUTPUTS.studyProbs, [
    'batch',
    studyClasses
  ])
  out(g.node('Sigmoid', [study.noneLogits], 'none_sigmoid'), ONNX_OUTPUTS.noneScores, ['batch', 1])

  const bytes = g.serialize({
    graphName: `cxr-studio ${config.head} ${config.backbone} ${size}px`,
    inputs: [{ name: ONNX_INPUT, shape: ['batch', size, size, 1] }],
    outputs: named,
    producerVersion: '1',
    docString:
      `CXR Studio detector (${config.head} head, ${config.backbone} backbone, ${size}x${size} greyscale input in [0, 1], NHWC). ` +
      'Outputs: class logits, box regression (EfficientDet: anchor deltas; FCOS: distances in strides) ' +
      'and FCOS centre-ness over every anchor/location, study-class and none logits, and their scores.',
    metadata: {
      head: config.head,
      backbone: config.backbone,
      imageSize: String(size),
      classes: JSON.stringify(config.classes),
      ...metadata
    }
  })
  return { bytes, inputName: ONNX_INPUT, outputNames: named.map((o) => o.name) }
}

// ---- backbones -------------------------------------------------------------------------------

function emitBackbone(
  g: GraphBuilder,
  backbone: Backbone,
  input: FeatureMap
): { features: Map<number, FeatureMap>; top: FeatureMap } {
  if (backbone instanceof StagedBackbone) return emitStagedBackbone(g, backbone, input)
  if (backbone instanceof ResNet) return emitResNet(g, backbone, input)
  throw new Error(`no ONNX export for backbone ${backbone.constructor.name}`)
}

/** StagedBackbone.forward: stem, blocks by stage (stage outputs as features), top conv. */
function emitStagedBackbone(g: GraphBuilder, backbone: StagedBackbone, input: FeatureMap) {
  const features = new Map<number, FeatureMap>()
  let y = emitConvBn(g, backbone.stem, input, 'backbone/stem')
  for (let s = 0; s + 1 < backbone.stageStarts.length; s++) {
    for (let b = backbone.stageStarts[s]; b < backbone.stageStarts[s + 1]; b++)
      y = emitBlock(g, backbone.blocks[b], y, `backbone/blocks.${b}`)
    const stride = backbone.featureStages.find(([, stage]) => stage === s)?.[0]
    if (stride) features.set(stride, y)
  }
  return { features, top: emitConvBn(g, backbone.top, y, 'backbone/top') }
}

function emitBlock(g: GraphBuilder, block: unknown, x: FeatureMap, path: string): FeatureMap {
  if (block instanceof InvertedResidual) {
    let y = block.expandConv ? emitConvBn(g, block.expandConv, x, `${path}/expand`) : x
    y = emitConvBn(
      g,
      block.project,
      emitConvBn(g, block.depthwise, y, `${path}/depthwise`),
      `${path}/project`
    )
    return block.residual ? add(g, x, y, `${path}/add`) : y
  }
  if (block instanceof MBConv) {
    // dropPath is the identity at inference
    let y = block.expandConv ? emitConvBn(g, block.expandConv, x, `${path}/expand`) : x
    y = emitSqueezeExcite(g, block.se, emitConvBn(g, block.depthwise, y, `${path}/dwconv`), `${path}/se`)
    y = emitConvBn(g, block.project, y, `${path}/project`)
    return block.residual ? add(g, x, y, `${path}/add`) : y
  }
  throw new Error(`no ONNX export for block ${(block as object).constructor.name} at ${path}`)
}

/** x * sigmoid(expand(swish(reduce(mean over H, W)))), the 1x1 convs on a 1x1 map. */
function emitSqueezeExcite(g: GraphBuilder, se: SqueezeExcite, x: FeatureMap, path: string): FeatureMap {
  const pooled: FeatureMap = {
    name: g.node('GlobalAveragePool', [x.name], `${path}/pool`),
    channels: x.channels,
    height: 1,
    width: 1
  }
  const hidden = emitConv(g, se.reduce, pooled, `${path}/reduce`, null, 'swish')
  const gate = emitConv(g, se.expand, hidden, `${path}/expand`, null, 'sigmoid')
  return { ...x, name: g.node('Mul', [x.name, gate.name], `${path}/scale`) }
}

/** ResNet.forward: stem, 3x3/2 max-pool, four stages of basic blocks; pooled from the last stage. */
function emitResNet(g: GraphBuilder, resnet: ResNet, input: FeatureMap) {
  const features = new Map<number, FeatureMap>()
  let y = maxPoolSame(g, emitConvBn(g, resnet.stem, input, 'backbone/stem'), 'backbone/stem_pool')
  resnet.layers.forEach((layer, i) => {
    layer.blocks.forEach((block, b) => {
      y = emitBasicBlock(g, block, y, `backbone/layer${i + 1}/blocks.${b}`)
    })
    features.set(4 << i, y)
  })
  return { features, top: y }
}

function emitBasicBlock(g: GraphBuilder, block: BasicBlock, x: FeatureMap, path: string): FeatureMap {
  const y = emitConvBn(g, block.conv2, emitConvBn(g, block.conv1, x, `${path}/conv1`), `${path}/conv2`)
  const shortcut = block.shortcut ? emitConvBn(g, block.shortcut, x, `${path}/shortcut`) : x
  return activate(g, add(g, y, shortcut, `${path}/add`), 'relu', `${path}/relu`)
}

// ---- neck --------------------------------------------------------------------------------------

/** BiFpn.forward: lateral 1x1 convs, extra levels from C5 by max-pooling, then the BiFPN layers. */
function emitNeck(g: GraphBuilder, neck: BiFpn, features: Map<number, FeatureMap>): FeatureMap[] {
  const { minLevel, maxLevel } = neck.options
  const featureAt = (level: number) => {
    const f = features.get(2 ** level)
    if (!f) throw new Error(`backbone has no stride-${2 ** level} features`)
    return f
  }
  const levels = neck.lateral.map((conv, i) =>
    emitConvBn(g, conv, featureAt(minLevel + i), `neck/lateral.P${minLevel + i}`)
  )
  if (neck.extraLevel) {
    let extra = maxPoolSame(g, emitConvBn(g, neck.extraLevel, featureAt(5), 'neck/extra.P6'), 'neck/P6')
    levels.push(extra)
    for (let level = 7; level <= maxLevel; level++) {
      extra = maxPoolSame(g, extra, `neck/P${level}`)
      levels.push(extra)
    }
  }
  return neck.layers.reduce<FeatureMap[]>(
    (current, layer, r) => emitBiFpnLayer(g, layer, current, `neck/layers.${r}`),
    levels
  )
}

function emitBiFpnLayer(
  g: GraphBuilder,
  layer: BiFpnLayer,
  levels: FeatureMap[],
  path: string
): FeatureMap[] {
  const top = layer.levelCount - 1
  const intermediate = [...levels]
  for (let i = top - 1; i >= 0; i--) {
    const up = upsample2x(g, intermediate[i + 1], `${path}/up${i}`)
    intermediate[i] = emitFusion(g, layer.topDown[i], [levels[i], up], `${path}/top_down.${i}`)
  }
  const outputs = [intermediate[0]]
  for (let i = 1; i <= top; i++) {
    const below = maxPoolSame(g, outputs[i - 1], `${path}/down${i}`)
    const inputs = i === top ? [levels[i], below] : [levels[i], intermediate[i], below]
    outputs.push(emitFusion(g, layer.bottomUp[i - 1], inputs, `${path}/bottom_up.${i - 1}`))
  }
  return outputs
}

/** Fast normalised fusion: the weights relu(w) / (sum + eps) are constants at inference. */
function emitFusion(g: GraphBuilder, node: FusionNode, inputs: FeatureMap[], path: string): FeatureMap {
  const raw = Array.from(values(node.fusionWeights), (w) => Math.max(w, 0))
  const total = raw.reduce((a, b) => a + b, 0) + 1e-4
  // tfjs computes the normalised weights in float32; so does this
  const weights = Float32Array.from(raw, (w) => Math.fround(w) / Math.fround(total))
  let fused = g.node('Mul', [inputs[0].name, g.scalar(weights[0])], `${path}/w0`)
  for (let i = 1; i < inputs.length; i++)
    fused = g.node(
      'Add',
      [fused, g.node('Mul', [inputs[i].name, g.scalar(weights[i])], `${path}/w${i}`)],
      `${path}/sum${i}`
    )
  const swished = activate(g, { ...inputs[0], name: fused }, 'swish', `${path}/swish`)
  return emitConvBn(g, node.conv, swished, `${path}/conv`)
}

// ---- heads -------------------------------------------------------------------------------------

interface HeadValues {
  classLogits: string
  boxRegression: string
  centerness?: string
  scores: string
}

function emitHead(g: GraphBuilder, head: unknown, levels: FeatureMap[]): HeadValues {
  if (head instanceof EfficientDetHead) {
    const classes = emitTower(g, head.classTower, levels, 'head/class_net').map((x, i) =>
      emitSeparable(g, head.classOutput, x, `head/class_output/P${i}`, null, 'linear')
    )
    const boxes = emitTower(g, head.boxTower, levels, 'head/box_net').map((x, i) =>
      emitSeparable(g, head.boxOutput, x, `head/box_output/P${i}`, null, 'linear')
    )
    const classLogits = flattenLevels(g, classes, head.options.numClasses, 'head/class_logits')
    return {
      classLogits,
      boxRegression: flattenLevels(g, boxes, 4, 'head/box_regression'),
      scores: g.node('Sigmoid', [classLogits], 'head/scores')
    }
  }
  if (head instanceof FcosHead) {
    const classes = emitTower(g, head.classTower, levels, 'head/class_net').map((x, i) =>
      emitSeparable(g, head.classOutput, x, `head/class_output/P${i}`, null, 'linear')
    )
    const boxFeatures = emitTower(g, head.boxTower, levels, 'head/box_net')
    const scales = values(head.levelScales)
    // exp(min(box_output * scale_level, 8)), as FcosHead.forward
    const distances = boxFeatures.map((x, i) => {
      const raw = emitSeparable(g, head.boxOutput, x, `head/box_output/P${i}`, null, 'linear')
      const scaled = g.node('Mul', [raw.name, g.scalar(scales[i])], `head/box_scaled/P${i}`)
      const capped = g.node('Min', [scaled, g.scalar(8)], `head/box_capped/P${i}`)
      return { ...raw, name: g.node('Exp', [capped], `head/distances/P${i}`) }
    })
    const centerness = boxFeatures.map((x, i) =>
      emitSeparable(g, head.centernessOutput, x, `head/centerness_output/P${i}`, null, 'linear')
    )
    const classLogits = flattenLevels(g, classes, head.options.numClasses, 'head/class_logits')
    const centernessLogits = flattenLevels(g, centerness, 1, 'head/centerness')
    // sqrt(sigmoid(class) * sigmoid(centre-ness)), as FcosHead.scores
    const product = g.node(
      'Mul',
      [
        g.node('Sigmoid', [classLogits], 'head/class_sigmoid'),
        g.node('Sigmoid', [centernessLogits], 'head/ctr_sigmoid')
      ],
      'head/score_product'
    )
    return {
      classLogits,
      boxRegression: flattenLevels(g, distances, 4, 'head/box_regression'),
      centerness: centernessLogits,
      scores: g.node('Sqrt', [product], 'head/scores')
    }
  }
  throw new Error(`no ONNX export for head ${(head as object).constructor.name}`)
}

/** SharedTower.forward: the same separable convs on every level, each level its own folded norm. */
function emitTower(g: GraphBuilder, tower: SharedTower, levels: FeatureMap[], path: string): FeatureMap[] {
  return levels.map((x, levelIndex) =>
    tower.layers.reduce(
      (y, layer, r) => emitTowerLayer(g, layer, y, levelIndex, `${path}/layers.${r}/P${levelIndex}`),
      x
    )
  )
}

function emitTowerLayer(g: GraphBuilder, layer: TowerLayer, x: FeatureMap, levelIndex: number, path: string) {
  return emitSeparable(g, layer.conv, x, path, fold(layer.norms[levelIndex]), 'swish')
}

/** flattenLevels: [B, k * per, H, W] per level -> [B, sum(H * W * k), per] in NHWC order. */
function flattenLevels(g: GraphBuilder, outputs: FeatureMap[], per: number, path: string): string {
  const shape = g.int64s(`${path}/shape`, [0, -1, per])
  const flat = outputs.map((y, i) => {
    const nhwc = g.node('Transpose', [y.name], `${path}/nhwc${i}`, { perm: [0, 2, 3, 1] })
    return g.node('Reshape', [nhwc, shape], `${path}/flat${i}`)
  })
  return flat.length === 1 ? flat[0] : g.node('Concat', flat, path, { axis: 1 })
}

/** The backbone's globally average-pooled top features, [B, C]. */
function emitPooled(g: GraphBuilder, top: FeatureMap): string {
  return g.node(
    'Flatten',
    [g.node('GlobalAveragePool', [top.name], 'backbone/pooled_map')],
    'backbone/pooled',
    {
      axis: 1
    }
  )
}

/** StudyHead.forward on the globally average-pooled top features. */
function emitStudyHead(g: GraphBuilder, head: StudyHead, top: FeatureMap) {
  const pooled = emitPooled(g, top)
  return {
    studyLogits: emitDense(g, head.study, pooled, 'study/study'),
    noneLogits: emitDense(g, head.none, pooled, 'study/none')
  }
}

/**
 * SpatialStudyHead.forward. The coordinate channels are the same for every image, so the conv's
 * response to them is a constant [1, hidden, H, W] map added with broadcasting (a Concat would need
 * the batch size); attention is Softmax over positions and a batched MatMul, as in tfjs.
 */
function emitSpatialStudyHead(g: GraphBuilder, head: SpatialStudyHead, level: FeatureMap, top: FeatureMap) {
  const { height, width } = level
  const positions = height * width
  const conv = emitConv(g, head.conv, level, 'study/conv', null, 'linear')
  const response = tf.tidy(
    () => tf.transpose(head.coordinateResponse(height, width), [0, 3, 1, 2]).dataSync() as Float32Array
  )
  const coords = g.constant('study/coords_response', [1, head.hidden, height, width], response)
  const hidden: FeatureMap = {
    ...conv,
    name: g.node('Relu', [g.node('Add', [conv.name, coords], 'study/conv_coords')], 'study/relu')
  }
  const logits = emitConv(g, head.attention, hidden, 'study/attention', null, 'linear')
  const weights = g.node(
    'Softmax',
    [
      g.node(
        'Reshape',
        [logits.name, g.int64s('study/attention_shape', [0, head.heads, positions])],
        'study/attention_flat'
      )
    ],
    'study/attention_weights',
    { axis: 2 }
  )
  const flat = g.node(
    'Transpose',
    [
      g.node(
        'Reshape',
        [hidden.name, g.int64s('study/hidden_shape', [0, head.hidden, positions])],
        'study/hidden_flat'
      )
    ],
    'study/hidden_positions',
    { perm: [0, 2, 1] }
  )
  const attended = g.node(
    'Reshape',
    [
      g.node('MatMul', [weights, flat], 'study/attended_maps'),
      g.int64s('study/attended_shape', [0, head.heads * head.hidden])
    ],
    'study/attended'
  )
  const maxPooled = g.node(
    'Flatten',
    [g.node('GlobalMaxPool', [hidden.name], 'study/max_map')],
    'study/max',
    {
      axis: 1
    }
  )
  const meanPooled = g.node(
    'Flatten',
    [g.node('GlobalAveragePool', [hidden.name], 'study/mean_map')],
    'study/mean',
    { axis: 1 }
  )
  const features = g.node('Concat', [attended, maxPooled, meanPooled, emitPooled(g, top)], 'study/features', {
    axis: 1
  })
  return {
    studyLogits: emitDense(g, head.study, features, 'study/study'),
    noneLogits: emitDense(g, head.none, features, 'study/none')
  }
}

function emitDense(g: GraphBuilder, dense: Dense, x: string, path: string): string {
  const kernel = g.constant(`${path}/kernel`, [dense.inFeatures, dense.outFeatures], values(dense.kernel))
  const bias = g.constant(`${path}/bias`, [dense.outFeatures], values(dense.bias))
  return g.node('Gemm', [x, kernel, bias], path)
}

// ---- convolutions ------------------------------------------------------------------------------

/** ConvBn.forward at inference: the running-stat batch norm folded into the convolution. */
function emitConvBn(g: GraphBuilder, block: ConvBn, x: FeatureMap, path: string): FeatureMap {
  const conv = block.conv
  const affine = fold(block.bn)
  if (conv instanceof Conv2d) return emitConv(g, conv, x, path, affine, block.activation)
  if (conv instanceof DepthwiseConv2d) return emitDepthwise(g, conv, x, path, affine, block.activation)
  if (conv instanceof SeparableConv2d) return emitSeparable(g, conv, x, path, affine, block.activation)
  throw new Error(`no ONNX export for convolution ${(conv as object).constructor.name} at ${path}`)
}

/** SeparableConv2d.forwardAffine: plain depthwise, then the pointwise conv takes the affine map. */
function emitSeparable(
  g: GraphBuilder,
  conv: SeparableConv2d,
  x: FeatureMap,
  path: string,
  affine: Affine | null,
  activation: Activation
): FeatureMap {
  const depthwise = emitDepthwise(g, conv.depthwise, x, `${path}/depthwise`, null, 'linear')
  return emitConv(g, conv.pointwise, depthwise, `${path}/pointwise`, affine, activation)
}

/** Conv2d: kernel [kh, kw, in, out] -> ONNX [out, in, kh, kw]; conv * scale + (shift + bias * scale). */
function emitConv(
  g: GraphBuilder,
  conv: Conv2d,
  x: FeatureMap,
  path: string,
  affine: Affine | null,
  activation: Activation
): FeatureMap {
  const { inChannels: cin, outChannels: cout, kernelSize: k } = conv
  const kernel = values(conv.kernel)
  const bias = conv.bias ? values(conv.bias) : null
  const weights = new Float32Array(cout * cin * k * k)
  const biases = new Float32Array(cout)
  for (let o = 0; o < cout; o++) {
    const scale = affine ? affine.scale[o] : 1
    for (let i = 0; i < cin; i++)
      for (let ky = 0; ky < k; ky++)
        for (let kx = 0; kx < k; kx++)
          weights[((o * cin + i) * k + ky) * k + kx] = kernel[((ky * k + kx) * cin + i) * cout + o] * scale
    biases[o] = (affine ? affine.shift[o] : 0) + (bias ? bias[o] * scale : 0)
  }
  const hasBias = affine !== null || bias !== null
  return convNode(
    g,
    x,
    path,
    { weights, biases: hasBias ? biases : null, cout, k, stride: conv.stride, group: 1 },
    activation
  )
}

/** DepthwiseConv2d: kernel [kh, kw, C, 1] -> ONNX [C, 1, kh, kw], a Conv with group = C. */
function emitDepthwise(
  g: GraphBuilder,
  conv: DepthwiseConv2d,
  x: FeatureMap,
  path: string,
  affine: Affine | null,
  activation: Activation
): FeatureMap {
  const { channels: c, kernelSize: k } = conv
  const kernel = values(conv.kernel)
  const weights = new Float32Array(c * k * k)
  for (let ch = 0; ch < c; ch++) {
    const scale = affine ? affine.scale[ch] : 1
    for (let ky = 0; ky < k; ky++)
      for (let kx = 0; kx < k; kx++) weights[(ch * k + ky) * k + kx] = kernel[(ky * k + kx) * c + ch] * scale
  }
  const biases = affine ? Float32Array.from(affine.shift) : null
  return convNode(g, x, path, { weights, biases, cout: c, k, stride: conv.stride, group: c }, activation)
}

function convNode(
  g: GraphBuilder,
  x: FeatureMap,
  path: string,
  conv: {
    weights: Float32Array
    biases: Float32Array | null
    cout: number
    k: number
    stride: number
    group: number
  },
  activation: Activation
): FeatureMap {
  const { k, stride, cout, group } = conv
  const rows = samePadding(x.height, k, stride)
  const cols = samePadding(x.width, k, stride)
  const inputs = [x.name, g.constant(`${path}/W`, [cout, x.channels / group, k, k], conv.weights)]
  if (conv.biases) inputs.push(g.constant(`${path}/B`, [cout], conv.biases))
  const name = g.node('Conv', inputs, path, {
    kernel_shape: [k, k],
    strides: [stride, stride],
    pads: [rows.pads[0], cols.pads[0], rows.pads[1], cols.pads[1]],
    group
  })
  return activate(g, { name, channels: cout, height: rows.out, width: cols.out }, activation, `${path}/act`)
}

/** BatchNorm.folded() in float64: y = x * scale + shift with the running statistics. */
function fold(bn: BatchNorm): Affine {
  const gamma = values(bn.gamma)
  const beta = values(bn.beta)
  const mean = values(bn.movingMean)
  const variance = values(bn.movingVariance)
  const scale = new Float64Array(bn.channels)
  const shift = new Float64Array(bn.channels)
  for (let c = 0; c < bn.channels; c++) {
    scale[c] = gamma[c] / Math.sqrt(variance[c] + bn.epsilon)
    shift[c] = beta[c] - mean[c] * scale[c]
  }
  return { scale, shift }
}

// ---- elementwise and pooling -------------------------------------------------------------------

function activate(g: GraphBuilder, x: FeatureMap, activation: Activation, path: string): FeatureMap {
  switch (activation) {
    case 'linear':
      return x
    case 'relu':
      return { ...x, name: g.node('Relu', [x.name], path) }
    case 'relu6':
      return { ...x, name: g.node('Clip', [x.name, g.scalar(0), g.scalar(6)], path) }
    case 'sigmoid':
      return { ...x, name: g.node('Sigmoid', [x.name], path) }
    case 'swish':
      return { ...x, name: g.node('Mul', [x.name, g.node('Sigmoid', [x.name], `${path}/sigmoid`)], path) }
  }
}

function add(g: GraphBuilder, a: FeatureMap, b: FeatureMap, path: string): FeatureMap {
  return { ...a, name: g.node('Add', [a.name, b.name], path) }
}

/** tf.maxPool(x, 3, 2, 'same'): padding never wins a max, in TF and in ONNX. */
function maxPoolSame(g: GraphBuilder, x: FeatureMap, path: string): FeatureMap {
  const rows = samePadding(x.height, 3, 2)
  const cols = samePadding(x.width, 3, 2)
  const name = g.node('MaxPool', [x.name], path, {
    kernel_shape: [3, 3],
    strides: [2, 2],
    pads: [rows.pads[0], cols.pads[0], rows.pads[1], cols.pads[1]]
  })
  return { ...x, name, height: rows.out, width: cols.out }
}

/** tf.image.resizeNearestNeighbor to twice the size (no corner alignment): source pixel floor(i / 2). */
function upsample2x(g: GraphBuilder, x: FeatureMap, path: string): FeatureMap {
  const name = g.node(
    'Resize',
    [x.name, '', g.constant(`${path}/scales`, [4], Float32Array.of(1, 1, 2, 2))],
    path,
    {
      mode: 'nearest',
      coordinate_transformation_mode: 'asymmetric',
      nearest_mode: 'floor'
    }
  )
  return { ...x, name, height: x.height * 2, width: x.width * 2 }
}

function values(variable: tf.Variable): Float32Array {
  return variable.dataSync() as Float32Array
}
