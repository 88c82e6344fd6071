// VOI (window/level or VOI LUT) and the display pipeline of PS3.3 C.11:
// stored -> modality LUT -> VOI -> MONOCHROME1 inversion (after VOI) -> uint8.
import { storedRange } from './modality'
import type { DecodedImage, GrayImage, VoiLut, VoiWindow } from './types'

/** The first Window Center/Width pair of the file, or null when absent or unusable (width < 1). */
export function fileWindow(img: Pick<DecodedImage, 'windowCenter' | 'windowWidth'>): VoiWindow | null {
  const center = img.windowCenter?.[0]
  const width = img.windowWidth?.[0]
  if (center === undefined || width === undefined || !Number.isFinite(center) || !(width >= 1)) return null
  return { center, width }
}

/** The window that maps modality values [low, high] exactly onto the display range. */
export function windowFromRange(low: number, high: number): VoiWindow {
  // C.11.2.1.2.1: x <= c - 0.5 - (w-1)/2 is black, x > c - 0.5 + (w-1)/2 is white
  const width = Math.max(1, high - low + 1)
  return { center: low + 0.5 + (width - 1) / 2, width }
}

/**
 * A window from the lowPct..highPct percentiles of the modality values, for files without one.
 * Histogram of the (integer) stored values, so it is one pass and no sort, even at 4k x 4k.
 */
export function robustWindow(img: DecodedImage, lowPct = 0.5, highPct = 99.5): VoiWindow {
  const { pixels, rescaleSlope: slope, rescaleIntercept: intercept } = img
  const { min, max } = storedRange(pixels)
  const bins = Math.min(max - min + 1, 1 << 20)
  const binWidth = (max - min + 1) / bins
  const hist = new Uint32Array(bins)
  for (let i = 0; i < pixels.length; i++) hist[Math.min(bins - 1, Math.floor((pixels[i] - min) / binWidth))]++
  // the smallest value with at least pct% of the pixels at or below it (from the top: at or above)
  const percentile = (pct: number, fromTop: boolean): number => {
    const target = Math.max(1, Math.ceil((pct / 100) * pixels.length))
    let seen = 0
    for (let k = 0; k < bins; k++) {
      const b = fromTop ? bins - 1 - k : k
      seen += hist[b]
      if (seen >= target) return min + b * binWidth
    }
    return fromTop ? min : max
  }
  // a negative slope reverses the order of modality values
  const fromTop = slope < 0
  const lowStored = percentile(lowPct, fromTop)
  const highStored = percentile(highPct, fromTop)
  const a = lowStored * slope + intercept
  const b = highStored * slope + intercept
  return windowFromRange(Math.min(a, b), Math.max(a, b))
}

/** The DICOM linear VOI function (PS3.3 C.11.2.1.2.1) onto 0..255. */
export function linearVoi(x: number, window: VoiWindow): number {
  const { center: c, width: w } = window
  if (x <= c - 0.5 - (w - 1) / 2) return 0
  if (x > c - 0.5 + (w - 1) / 2) return 255
  return ((x - (c - 0.5)) / (w - 1) + 0.5) * 255
}

/** A VOI LUT (C.11.2.1.1) onto 0..255: inputs below/above the table take its first/last entry. */
export function voiLutValue(x: number, lut: VoiLut): number {
  const last = lut.data.length - 1
  const index = Math.min(last, Math.max(0, Math.round(x) - lut.firstMapped))
  return (lut.data[index] / (2 ** lut.bits - 1)) * 255
}

export interface DisplayOptions {
  /** Overrides the file's VOI. */
  window?: VoiWindow
  /** Inverts the displayed image (on top of the MONOCHROME1 inversion, like the viewer's `i` key). */
  invert?: boolean
}

/** Which VOI renderDisplay applies: the given window, else the file's window, else its VOI LUT, else robust. */
export type VoiChoice =
  { kind: 'window'; window: VoiWindow; source: 'option' | 'file' | 'robust' } | { kind: 'lut'; lut: VoiLut }

export function chooseVoi(img: DecodedImage, options: DisplayOptions = {}): VoiChoice {
  if (options.window) return { kind: 'window', window: options.window, source: 'option' }
  const file = fileWindow(img)
  if (file) return { kind: 'window', window: file, source: 'file' }
  if (img.voiLut && img.voiLut.data.length > 0) return { kind: 'lut', lut: img.voiLut }
  return { kind: 'window', window: robustWindow(img), source: 'robust' }
}

/**
 * A lookup table from stored value (offset by `min`) to display byte. Building it costs one entry
 * per possible stored value, so re-windowing a 2k x 2k image is one table plus one pass.
 */
export function displayLut(
  img: DecodedImage,
  options: DisplayOptions = {}
): { min: number; lut: Uint8Array } {
  const { min, max } = storedRange(img.pixels)
  const voi = chooseVoi(img, options)
  const invert = (img.photometric === 'MONOCHROME1') !== Boolean(options.invert)
  const { rescaleSlope: slope, rescaleIntercept: intercept } = img
  const lut = new Uint8Array(max - min + 1)
  for (let s = min; s <= max; s++) {
    const modality = s * slope + intercept
    const y = voi.kind === 'window' ? linearVoi(modality, voi.window) : voiLutValue(modality, voi.lut)
    const byte = Math.round(y)
    lut[s - min] = invert ? 255 - byte : byte
  }
  return { min, lut }
}

/** Largest stored-value span rendered through a table; wider (32-bit) data is mapped pixel by pixel. */
const MAX_LUT_SPAN = 1 << 22

/** The display image: modality LUT -> VOI -> MONOCHROME1 inversion after VOI -> uint8. */
export function renderDisplay(img: DecodedImage, options: DisplayOptions = {}): Uint8Array {
  const { pixels } = img
  const out = new Uint8Array(pixels.length)
  const { min, max } = storedRange(pixels)
  if (max - min < MAX_LUT_SPAN) {
    const { lut } = displayLut(img, options)
    for (let i = 0; i < pixels.length; i++) out[i] = lut[pixels[i] - min]
    return out
  }
  const voi = chooseVoi(img, options)
  const invert = (img.photometric === 'MONOCHROME1') !== Boolean(options.invert)
  for (let i = 0; i < pixels.length; i++) {
    const modality = pixels[i] * img.rescaleSlope + img.rescaleIntercept
    const byte = Math.round(
      voi.kind === 'window' ? linearVoi(modality, voi.window) : voiLutValue(modality, voi.lut)
    )
    out[i] = invert ? 255 - byte : byte
  }
  return out
}

export function renderGray(img: DecodedImage, options: DisplayOptions = {}): GrayImage {
  return { width: img.columns, height: img.rows, pixels: renderDisplay(img, options) }
}
