// An imported model's raw outputs -> opacity detections in original DICOM pixels: per-format decoding
// (see formats.ts for the layouts), the class mapping, the score threshold, class-wise NMS (the same
// greedy NMS as CXR Studio's own detectors), the best maxDetections, the letterbox undone, clipped.
import type { PredictedBox } from '../../../common/contract/training'
import type { Box, Detections } from '../detect/boxes'
import { nonMaxSuppression } from '../detect/postprocess'
import { originalBox } from '../data/samples'
import type { ImportedFormat, ImportedRunConfig } from './model-config'

export interface RawOutputs {
  /** YOLO: the one output, flattened; torchvision: boxes [N * 4]. */
  main: Float32Array
  /** torchvision only. */
  labels?: ArrayLike<number | bigint>
  scores?: Float32Array
}

export interface DecodeSettings {
  scoreThreshold: number
  iouThreshold: number
  maxDetections: number
}

/** Candidates in input pixels, one label per box (the model's class index or torchvision label). */
export function candidates(format: ImportedFormat, raw: RawOutputs, outputShape: readonly number[]): Detections {
  if (format === 'torchvision') {
    const n = raw.scores!.length
    const out: Detections = { boxes: [], scores: [], labels: [] }
    for (let i = 0; i < n; i++) {
      out.boxes.push([raw.main[4 * i], raw.main[4 * i + 1], raw.main[4 * i + 2], raw.main[4 * i + 3]])
      out.scores.push(raw.scores![i])
      out.labels.push(Number(raw.labels![i]))
    }
    return out
  }
  // yolov5 [1, N, C] row-major: value (i, c) at i * C + c; yolov8 [1, C, N]: at c * N + i
  const v5 = format === 'yolov5'
  const [, d1, d2] = outputShape
  const count = v5 ? d1 : d2
  const channels = v5 ? d2 : d1
  const at = v5 ? (i: number, c: number) => raw.main[i * channels + c] : (i: number, c: number) => raw.main[c * count + i]
  const firstClass = v5 ? 5 : 4
  const out: Detections = { boxes: [], scores: [], labels: [] }
  for (let i = 0; i < count; i++) {
    const objectness = v5 ? at(i, 4) : 1
    let best = -Infinity
    let label = 0
    for (let c = firstClass; c < channels; c++) {
      const score = at(i, c) * objectness
      if (score > best) {
        best = score
        label = c - firstClass
      }
    }
    const cx = at(i, 0)
    const cy = at(i, 1)
    const w = at(i, 2)
    const h = at(i, 3)
    out.boxes.push([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
    out.scores.push(best)
    out.labels.push(label)
  }
  return out
}

export function isOpacity(label: number, format: ImportedFormat, classes: ImportedRunConfig['classes']): boolean {
  if (classes.opacity === 'all') return format !== 'torchvision' || label >= 1
  return classes.opacity.includes(label)
}

/**
 * Opacity detections of one image in original pixels, highest confidence first. Classes mapped to
 * opacity are merged into one class before NMS (they name the same finding); others are dropped.
 */
export function opacityBoxes(
  found: Detections,
  format: ImportedFormat,
  classes: ImportedRunConfig['classes'],
  settings: DecodeSettings,
  sample: { width: number; height: number },
  inputSize: number
): PredictedBox[] {
  const kept: Detections = { boxes: [], scores: [], labels: [] }
  found.scores.forEach((score, i) => {
    if (score >= settings.scoreThreshold && isOpacity(found.labels[i], format, classes)) {
      kept.boxes.push(found.boxes[i])
      kept.scores.push(score)
      kept.labels.push(0)
    }
  })
  const merged = nonMaxSuppression(kept, { iouThreshold: settings.iouThreshold, maxDetections: settings.maxDetections })
  const boxes: PredictedBox[] = []
  merged.boxes.forEach((box: Box, k) => {
    const [x1, y1, x2, y2] = originalBox(box, sample, inputSize)
    if (x2 - x1 >= 1 && y2 - y1 >= 1) boxes.push({ x1, y1, x2, y2, confidence: merged.scores[k] })
  })
  return boxes
}
