// W/L presets on keys 1–5. Radiographs carry no Hounsfield units, so lung, mediastinum and bone
// are placed within the image's own robust range (0.5–99.5 percentiles): air is the low end of
// MONOCHROME2 values and the high end of MONOCHROME1 values, so the fractions mirror for MONOCHROME1.
import type { DecodedImageMeta, VoiWindow } from '../../../common/contract'

export const PRESETS = [
  { key: '1', id: 'file', name: 'File VOI' },
  { key: '2', id: 'auto', name: 'Auto' },
  { key: '3', id: 'lung', name: 'Lung' },
  { key: '4', id: 'mediastinum', name: 'Mediastinum' },
  { key: '5', id: 'bone', name: 'Bone' }
] as const
export type PresetId = (typeof PRESETS)[number]['id']

/** Centre and width as fractions of the robust range, for MONOCHROME2. */
const RELATIVE: Record<'lung' | 'mediastinum' | 'bone', { center: number; width: number }> = {
  lung: { center: 0.38, width: 0.7 },
  mediastinum: { center: 0.72, width: 0.45 },
  bone: { center: 0.82, width: 0.3 }
}

/** True when the file carries its own VOI: a window (WindowCenter/Width) or a VOI LUT. */
export function hasFileVoi(meta: DecodedImageMeta): boolean {
  return meta.fileWindows.length > 0 || meta.voiLut !== null
}

/**
 * What a preset is called on this image. Preset 1 falls back to Auto when the file has no VOI of
 * its own, and then says so rather than claim a window the file does not have.
 */
export function presetName(preset: PresetId | 'custom', meta: DecodedImageMeta): string {
  if (preset === 'custom') return 'manual'
  if (preset === 'file' && !hasFileVoi(meta)) return 'Auto (no VOI in file)'
  return PRESETS.find((p) => p.id === preset)!.name
}

/** The window of a preset; 'file' is null when the file's VOI is a LUT (the caller applies it). */
export function presetWindow(preset: PresetId, meta: DecodedImageMeta): VoiWindow | null {
  if (preset === 'file') return meta.fileWindows[0] ?? (meta.voiLut ? null : meta.autoWindow)
  if (preset === 'auto') return meta.autoWindow
  const low = meta.autoWindow.center - meta.autoWindow.width / 2
  const range = meta.autoWindow.width
  const fraction = RELATIVE[preset]
  const center = meta.photometric === 'MONOCHROME1' ? 1 - fraction.center : fraction.center
  return { center: low + center * range, width: Math.max(1, fraction.width * range) }
}
