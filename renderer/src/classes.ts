// Colours and names of the label classes, shared by the list, the viewer overlay and the charts.
import type { StudyClass } from '../../common/domain'

export const CLASS_NAMES: Record<StudyClass, string> = {
  negative: 'Negative for Pneumonia',
  typical: 'Typical Appearance',
  indeterminate: 'Indeterminate Appearance',
  atypical: 'Atypical Appearance'
}

/** Saturated, so boxes never look like grey image pixels (the e2e suite relies on it). */
export const CLASS_COLORS: Record<StudyClass | 'unlabelled', string> = {
  negative: '#3ddc84',
  typical: '#ff5a5f',
  indeterminate: '#ffb020',
  atypical: '#b47cff',
  unlabelled: '#8b96a3'
}

export const PREDICTION_COLOR = '#22d3ee'

/** Predictions reviewed against the truth: found (TP), false alarm (FP), missed truth box (FN). */
export const REVIEW_COLORS = { tp: '#3ddc84', fp: '#ff4fd8', fn: '#ffe14d' } as const
export const REVIEW_NAMES = {
  tp: 'true positive',
  fp: 'false positive',
  fn: 'missed (false negative)'
} as const

export function classColor(label: StudyClass | null): string {
  return CLASS_COLORS[label ?? 'unlabelled']
}

export const SEVERITY_COLORS = { error: '#ff5a5f', warning: '#ffb020', info: '#5aa9ff' } as const
