// Grey-image resizing for thumbnails and model input, and letterboxing that keeps box coordinates
// mappable between the original image and the model's square input.

type GrayPixels = Uint8Array | Float32Array

/** Per output index: the source indices it reads and their weights (separable 1-D filter). */
interface AxisFilter {
  start: Int32Array
  count: Int32Array
  weights: Float32Array
  stride: number
}

function axisFilter(srcN: number, dstN: number): AxisFilter {
  const scale = srcN / dstN
  // area averaging when shrinking (no aliasing in thumbnails), bilinear when enlarging
  const stride = scale > 1 ? Math.ceil(scale) + 1 : 2
  const start = new Int32Array(dstN)
  const count = new Int32Array(dstN)
  const weights = new Float32Array(dstN * stride)
  for (let d = 0; d < dstN; d++) {
    if (scale > 1) {
      const lo = d * scale
      const hi = Math.min(srcN, lo + scale)
      const first = Math.floor(lo)
      let n = 0
      for (let s = first; s < hi && n < stride; s++, n++) {
        weights[d * stride + n] = (Math.min(hi, s + 1) - Math.max(lo, s)) / scale
      }
      start[d] = first
      count[d] = n
    } else {
      const x = Math.min(srcN - 1, Math.max(0, (d + 0.5) * scale - 0.5))
      const first = Math.min(srcN - 1, Math.floor(x))
      const frac = x - first
      start[d] = first
      count[d] = first + 1 < srcN ? 2 : 1
      weights[d * stride] = count[d] === 2 ? 1 - frac : 1
      weights[d * stride + 1] = count[d] === 2 ? frac : 0
    }
  }
  return { start, count, weights, stride }
}

/** Resizes a grey image (area averaging down, bilinear up); returns the input's array type. */
export function resizeGray<T extends GrayPixels>(
  src: T,
  srcW: number,
  srcH: number,
  dstW: number,
  dstH: number
): T {
  if (src.length !== srcW * srcH)
    throw new RangeError(`resizeGray: ${src.length} pixels is not ${srcW}x${srcH}`)
  if (dstW < 1 || dstH < 1) throw new RangeError(`resizeGray: bad target size ${dstW}x${dstH}`)
  const fx = axisFilter(srcW, dstW)
  const fy = axisFilter(srcH, dstH)
  const rows = new Float32Array(srcH * dstW)
  for (let y = 0; y < srcH; y++) {
    const row = y * srcW
    for (let x = 0; x < dstW; x++) {
      let acc = 0
      const base = x * fx.stride
      for (let k = 0; k < fx.count[x]; k++) acc += src[row + fx.start[x] + k] * fx.weights[base + k]
      rows[y * dstW + x] = acc
    }
  }
  const out = (src instanceof Uint8Array ? new Uint8Array(dstW * dstH) : new Float32Array(dstW * dstH)) as T
  const round = src instanceof Uint8Array
  for (let y = 0; y < dstH; y++) {
    const base = y * fy.stride
    for (let x = 0; x < dstW; x++) {
      let acc = 0
      for (let k = 0; k < fy.count[y]; k++) acc += rows[(fy.start[y] + k) * dstW + x] * fy.weights[base + k]
      out[y * dstW + x] = round ? Math.round(acc) : acc
    }
  }
  return out
}

/**
 * resizeGray of the image `lut[src[i] - offset]` without making that full-size image first: the
 * same bytes, a pass and an allocation fewer (thumbnails of 2k x 2k images straight from stored values).
 */
export function resizeThroughLut(
  src: ArrayLike<number>,
  lut: Uint8Array,
  offset: number,
  srcW: number,
  srcH: number,
  dstW: number,
  dstH: number
): Uint8Array {
  if (src.length !== srcW * srcH)
    throw new RangeError(`resizeThroughLut: ${src.length} pixels is not ${srcW}x${srcH}`)
  if (dstW < 1 || dstH < 1) throw new RangeError(`resizeThroughLut: bad target size ${dstW}x${dstH}`)
  const fx = axisFilter(srcW, dstW)
  const fy = axisFilter(srcH, dstH)
  const rows = new Float32Array(srcH * dstW)
  for (let y = 0; y < srcH; y++) {
    const row = y * srcW
    for (let x = 0; x < dstW; x++) {
      let acc = 0
      const base = x * fx.stride
      for (let k = 0; k < fx.count[x]; k++)
        acc += lut[src[row + fx.start[x] + k] - offset] * fx.weights[base + k]
      rows[y * dstW + x] = acc
    }
  }
  const out = new Uint8Array(dstW * dstH)
  for (let y = 0; y < dstH; y++) {
    const base = y * fy.stride
    for (let x = 0; x < dstW; x++) {
      let acc = 0
      for (let k = 0; k < fy.count[y]; k++) acc += rows[(fy.start[y] + k) * dstW + x] * fy.weights[base + k]
      out[y * dstW + x] = Math.round(acc)
    }
  }
  return out
}

/** Where the image sits inside a letterboxed target: target = source * scale + offset. */
export interface LetterboxGeometry {
  /** Nominal scale; scaleX/scaleY are the exact per-axis factors after rounding the resized size. */
  scale: number
  scaleX: number
  scaleY: number
  offsetX: number
  offsetY: number
  /** Size of the resized image inside the target. */
  width: number
  height: number
  targetWidth: number
  targetHeight: number
}

export function letterboxGeometry(
  srcW: number,
  srcH: number,
  targetW: number,
  targetH: number
): LetterboxGeometry {
  const scale = Math.min(targetW / srcW, targetH / srcH)
  const width = Math.max(1, Math.min(targetW, Math.round(srcW * scale)))
  const height = Math.max(1, Math.min(targetH, Math.round(srcH * scale)))
  return {
    scale,
    scaleX: width / srcW,
    scaleY: height / srcH,
    width,
    height,
    offsetX: Math.floor((targetW - width) / 2),
    offsetY: Math.floor((targetH - height) / 2),
    targetWidth: targetW,
    targetHeight: targetH
  }
}

/** Fits the image into targetW x targetH keeping its aspect ratio, centred, padding with `fill`. */
export function letterbox<T extends GrayPixels>(
  src: T,
  srcW: number,
  srcH: number,
  targetW: number,
  targetH: number,
  fill = 0
): LetterboxGeometry & { pixels: T } {
  const geometry = letterboxGeometry(srcW, srcH, targetW, targetH)
  const resized = resizeGray(src, srcW, srcH, geometry.width, geometry.height)
  const pixels = (
    src instanceof Uint8Array ? new Uint8Array(targetW * targetH) : new Float32Array(targetW * targetH)
  ) as T
  if (fill !== 0) pixels.fill(fill)
  for (let y = 0; y < geometry.height; y++) {
    pixels.set(
      resized.subarray(y * geometry.width, (y + 1) * geometry.width),
      (y + geometry.offsetY) * targetW + geometry.offsetX
    )
  }
  return { ...geometry, pixels }
}

/** A box (top-left + size) in some image's pixels. */
export interface PixelBox {
  x: number
  y: number
  width: number
  height: number
}

/** Original-image box -> letterboxed-target box. */
export function boxToLetterbox(box: PixelBox, g: LetterboxGeometry): PixelBox {
  return {
    x: box.x * g.scaleX + g.offsetX,
    y: box.y * g.scaleY + g.offsetY,
    width: box.width * g.scaleX,
    height: box.height * g.scaleY
  }
}

/** Letterboxed-target box (e.g. a model prediction) -> original-image box. */
export function boxFromLetterbox(box: PixelBox, g: LetterboxGeometry): PixelBox {
  return {
    x: (box.x - g.offsetX) / g.scaleX,
    y: (box.y - g.offsetY) / g.scaleY,
    width: box.width / g.scaleX,
    height: box.height / g.scaleY
  }
}
