// <run>/study-fusion.json: a run's fitted study regressions (`box-evidence` and `fused`, see
// study-evidence.ts and study-fusion.ts), and which study mode a prediction uses with or without it.
import { join } from 'node:path'
import { stat } from 'node:fs/promises'
import type { StudyFrom } from '../../../common/domain'
import { UserError } from '../../core/errors'
import { readJson } from '../runs/run-folder'
import type { FitReport } from './study-evidence'
import { needsFusion, type StudyFusionModels } from './study-level'

export const STUDY_FUSION_FILE = 'study-fusion.json'
export const STUDY_FUSION_FORMAT = 'cxr-studio-study-fusion'
export const STUDY_FUSION_VERSION = 1

export interface StudyFusionFile {
  format: typeof STUDY_FUSION_FORMAT
  version: number
  createdAt: string
  /** The checkpoint whose predictions the regressions were fitted on. */
  checkpoint: { name: string; epoch: number; globalStep: number }
  fittedOn: { source: string; studies: number; images: number; perClass: Record<string, number> }
  models: StudyFusionModels
  /** Per mode: cross-validated log-loss per L2 candidate, the fit's own log-loss and ECE. */
  reports: Record<
    keyof StudyFusionModels,
    Pick<FitReport, 'crossValidation' | 'fitLogLoss'> & { fitEce: number }
  >
}

export function studyFusionPath(run: string): string {
  return join(run, STUDY_FUSION_FILE)
}

/** The run's fitted regressions, or null when it has none (runs of older versions, or not fitted yet). */
export async function readStudyFusion(run: string): Promise<StudyFusionFile | null> {
  const path = studyFusionPath(run)
  if (!(await stat(path).catch(() => null))) return null
  const file = await readJson<StudyFusionFile>(path, 'the study regressions')
  if (
    file.format !== STUDY_FUSION_FORMAT ||
    file.version !== STUDY_FUSION_VERSION ||
    !file.models?.fused ||
    !file.models['box-evidence']
  )
    throw new UserError(
      `${path}: not a study-fusion file of this version (fit it again: cxr-studio fit-study)`
    )
  return file
}

/**
 * The mode prediction uses: the one asked for, except that a mode needing study-fusion.json on a run
 * without it answers `combined` (what such runs predicted before) unless the user asked explicitly.
 */
export function effectiveStudyMode(
  run: string,
  mode: StudyFrom,
  explicit: boolean,
  fusion: StudyFusionFile | null
): { mode: StudyFrom; note: string | null } {
  if (!needsFusion(mode) || fusion) return { mode, note: null }
  if (explicit)
    throw new UserError(
      `${run}: --study-from ${mode} needs ${STUDY_FUSION_FILE}, fitted at the end of training; fit it with: cxr-studio fit-study ${run} <dataset>`
    )
  return {
    mode: 'combined',
    note: `${run} has no ${STUDY_FUSION_FILE}: study rows from combined instead of ${mode}`
  }
}
