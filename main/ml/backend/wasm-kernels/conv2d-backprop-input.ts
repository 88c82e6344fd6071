// Conv2DBackpropInput for the WASM backend, replacing the stock scalar loop (several times slower
// than the forward convolution) with XNNPACK convolutions of dy; see input-gradient.ts.
import {
  Conv2DBackpropInput,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo
} from '@tensorflow/tfjs-core'
import { convGeometry, type PadAttr } from './conv-geometry'
import type { BackendWasm } from './heap'
import { inputGradient } from './input-gradient'
import { fromNhwc, nhwcShape, toNhwc } from './layout'

interface Conv2DBackpropInputAttrs {
  strides: number | [number, number]
  pad: PadAttr
  dataFormat: 'NHWC' | 'NCHW'
  dimRoundingMode?: 'floor' | 'round' | 'ceil'
  inputShape: [number, number, number, number]
}

function conv2DBackpropInput({ inputs, backend, attrs }: Parameters<KernelFunc>[0]): TensorInfo {
  const wasm = backend as BackendWasm
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } =
    attrs as unknown as Conv2DBackpropInputAttrs
  const filter = inputs.filter!
  const dy = toNhwc(wasm, inputs.dy!, dataFormat)
  try {
    const xShape = nhwcShape(inputShape, dataFormat)
    const g = convGeometry(
      xShape,
      filter.shape as [number, number, number, number],
      strides,
      1,
      pad,
      dimRoundingMode,
      false
    )
    return fromNhwc(wasm, inputGradient(wasm, dy.info, filter, g, false), dataFormat)
  } finally {
    dy.dispose()
  }
}

export const conv2DBackpropInputConfig: KernelConfig = {
  kernelName: Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropInput
}
