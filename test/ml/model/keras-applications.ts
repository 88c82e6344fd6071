// The weights a Keras Applications backbone (include_top=False) holds, by layer name and shape, written
// from keras/applications/{efficientnet,mobilenet_v2,resnet}.py and not from CXR Studio's modules, so
// tests can check that a converted Keras model imports into each backbone family.

export interface KerasWeight {
  /** As tensorflowjs_converter writes it: `<layer>/<weight>` (optionally under the model's name). */
  name: string
  shape: number[]
  dtype?: 'float32' | 'int32'
}

const BN_WEIGHTS = ['gamma', 'beta', 'moving_mean', 'moving_variance']

function conv(layer: string, shape: number[], bias = false): KerasWeight[] {
  return [{ name: `${layer}/kernel`, shape }, ...(bias ? [{ name: `${layer}/bias`, shape: [shape[3]] }] : [])]
}

function depthwise(layer: string, kernel: number, channels: number): KerasWeight[] {
  return [{ name: `${layer}/depthwise_kernel`, shape: [kernel, kernel, channels, 1] }]
}

function batchNorm(layer: string, channels: number): KerasWeight[] {
  return BN_WEIGHTS.map((w) => ({ name: `${layer}/${w}`, shape: [channels] }))
}

/** Keras' `_make_divisible` / EfficientNet's `round_filters` rounding. */
function makeDivisible(v: number, divisor = 8): number {
  let rounded = Math.max(divisor, Math.floor(Math.floor(v + divisor / 2) / divisor) * divisor)
  if (rounded < 0.9 * v) rounded += divisor
  return rounded
}

// keras/applications/efficientnet.py DEFAULT_BLOCKS_ARGS (se_ratio 0.25 everywhere)
const EFFICIENTNET_BLOCKS = [
  { kernel: 3, repeats: 1, filtersIn: 32, filtersOut: 16, expand: 1 },
  { kernel: 3, repeats: 2, filtersIn: 16, filtersOut: 24, expand: 6 },
  { kernel: 5, repeats: 2, filtersIn: 24, filtersOut: 40, expand: 6 },
  { kernel: 3, repeats: 3, filtersIn: 40, filtersOut: 80, expand: 6 },
  { kernel: 5, repeats: 3, filtersIn: 80, filtersOut: 112, expand: 6 },
  { kernel: 5, repeats: 4, filtersIn: 112, filtersOut: 192, expand: 6 },
  { kernel: 3, repeats: 1, filtersIn: 192, filtersOut: 320, expand: 6 }
]

/** `EfficientNet(width_coefficient, depth_coefficient)`, e.g. B0 = (1.0, 1.0), B3 = (1.2, 1.4). */
export function kerasEfficientNet(width: number, depth: number): KerasWeight[] {
  const filters = (n: number) => makeDivisible(n * width)
  const out: KerasWeight[] = [
    // the Normalization layer inside Keras' EfficientNet (not a backbone weight)
    { name: 'normalization/mean', shape: [3] },
    { name: 'normalization/variance', shape: [3] },
    { name: 'normalization/count', shape: [], dtype: 'int32' },
    ...conv('stem_conv', [3, 3, 3, filters(32)]),
    ...batchNorm('stem_bn', filters(32))
  ]
  EFFICIENTNET_BLOCKS.forEach((args, i) => {
    let filtersIn = filters(args.filtersIn)
    const filtersOut = filters(args.filtersOut)
    for (let j = 0; j < Math.ceil(depth * args.repeats); j++) {
      if (j > 0) filtersIn = filtersOut
      const name = `block${i + 1}${String.fromCharCode(97 + j)}_`
      const expanded = filtersIn * args.expand
      const squeezed = Math.max(1, Math.floor(filtersIn * 0.25))
      if (args.expand !== 1)
        out.push(
          ...conv(`${name}expand_conv`, [1, 1, filtersIn, expanded]),
          ...batchNorm(`${name}expand_bn`, expanded)
        )
      out.push(
        ...depthwise(`${name}dwconv`, args.kernel, expanded),
        ...batchNorm(`${name}bn`, expanded),
        ...conv(`${name}se_reduce`, [1, 1, expanded, squeezed], true),
        ...conv(`${name}se_expand`, [1, 1, squeezed, expanded], true),
        ...conv(`${name}project_conv`, [1, 1, expanded, filtersOut]),
        ...batchNorm(`${name}project_bn`, filtersOut)
      )
    }
  })
  out.push(...conv('top_conv', [1, 1, filters(320), filters(1280)]), ...batchNorm('top_bn', filters(1280)))
  return out
}

// keras/applications/mobilenet_v2.py: [filters, stride, expansion] for block_id 0..16
const MOBILENETV2_BLOCKS: Array<[number, number, number]> = [
  [16, 1, 1],
  [24, 2, 6],
  [24, 1, 6],
  [32, 2, 6],
  [32, 1, 6],
  [32, 1, 6],
  [64, 2, 6],
  [64, 1, 6],
  [64, 1, 6],
  [64, 1, 6],
  [96, 1, 6],
  [96, 1, 6],
  [96, 1, 6],
  [160, 2, 6],
  [160, 1, 6],
  [160, 1, 6],
  [320, 1, 6]
]

/** `MobileNetV2(alpha=...)`. */
export function kerasMobileNetV2(alpha: number): KerasWeight[] {
  let channels = makeDivisible(32 * alpha)
  const out: KerasWeight[] = [...conv('Conv1', [3, 3, 3, channels]), ...batchNorm('bn_Conv1', channels)]
  MOBILENETV2_BLOCKS.forEach(([filters, , expansion], blockId) => {
    const pointwise = makeDivisible(Math.trunc(filters * alpha))
    const prefix = blockId ? `block_${blockId}_` : 'expanded_conv_'
    const hidden = channels * expansion
    if (blockId)
      out.push(
        ...conv(`${prefix}expand`, [1, 1, channels, hidden]),
        ...batchNorm(`${prefix}expand_BN`, hidden)
      )
    out.push(
      ...depthwise(`${prefix}depthwise`, 3, hidden),
      ...batchNorm(`${prefix}depthwise_BN`, hidden),
      ...conv(`${prefix}project`, [1, 1, hidden, pointwise]),
      ...batchNorm(`${prefix}project_BN`, pointwise)
    )
    channels = pointwise
  })
  const last = alpha > 1 ? makeDivisible(1280 * alpha) : 1280
  out.push(...conv('Conv_1', [1, 1, channels, last]), ...batchNorm('Conv_1_bn', last))
  return out
}

/**
 * A basic-block ResNet-18/34 named as keras/applications/resnet.py names its (bottleneck) blocks:
 * `conv1_conv`, `conv2_block1_1_conv`, `..._2_conv`, `..._0_conv` (projection shortcut), each conv
 * with a bias (Keras' Conv2D default there) and followed by `_bn`. Keras ships no ResNet-18/34.
 */
export function kerasStyleResNet(depth: 18 | 34, width = 1): KerasWeight[] {
  const blocks = depth === 18 ? [2, 2, 2, 2] : [3, 4, 6, 3]
  const widths = [64, 128, 256, 512].map((c) => makeDivisible(c * width))
  const out: KerasWeight[] = [
    ...conv('conv1_conv', [7, 7, 3, widths[0]], true),
    ...batchNorm('conv1_bn', widths[0])
  ]
  let channels = widths[0]
  blocks.forEach((count, stage) => {
    for (let b = 0; b < count; b++) {
      const name = `conv${stage + 2}_block${b + 1}`
      const filters = widths[stage]
      if (b === 0 && (stage > 0 || channels !== filters))
        out.push(
          ...conv(`${name}_0_conv`, [1, 1, channels, filters], true),
          ...batchNorm(`${name}_0_bn`, filters)
        )
      out.push(
        ...conv(`${name}_1_conv`, [3, 3, b === 0 ? channels : filters, filters], true),
        ...batchNorm(`${name}_1_bn`, filters),
        ...conv(`${name}_2_conv`, [3, 3, filters, filters], true),
        ...batchNorm(`${name}_2_bn`, filters)
      )
    }
    channels = widths[stage]
  })
  return out
}

export const valueCount = (weights: KerasWeight[]): number =>
  weights.reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1), 0)
