// Every study mode scored on the same predictions: what `evaluate --compare-study-modes` prints and
// how the default mode was chosen. The image rows (opacity, none) are the same in every mode; the
// study rows change, and with them the study APs, their calibration (log-loss, ECE) and the final score.
import { STUDY_CLASSES, STUDY_FROM_CHOICES, type StudyClass, type StudyFrom } from '../../../common/domain'
import type { ImagePredictionRecord } from './predict-images'
import { calibration } from './study-evidence'
import { needsFusion, studyPredictions, type StudyFusionModels, type StudyPriors } from './study-level'
import { scorePredictions, type TruthChoice } from './truth-choice'

export interface StudyModeScore {
  mode: StudyFrom
  final: number | null
  studyMap: number | null
  ap: Record<StudyClass | 'opacity' | 'none', number | null>
  /** Over the scored studies with a known class. */
  logLoss: number
  ece: number
}

/** Scores each mode the run can serve (the fitted ones only with `fusion`), in STUDY_FROM_CHOICES order. */
export function compareStudyModes(
  truth: TruthChoice,
  images: readonly ImagePredictionRecord[],
  priors: StudyPriors,
  fusion: StudyFusionModels | null
): StudyModeScore[] {
  const labels = new Map(truth.studies.map((s) => [s.studyId, s.label]))
  return STUDY_FROM_CHOICES.filter((mode) => !needsFusion(mode) || fusion).map((mode) => {
    const studies = studyPredictions(images, mode, priors, fusion)
    const report = scorePredictions(truth, images, studies)
    const known = studies.flatMap((s) => {
      const label = labels.get(s.studyId)
      return label ? [{ probabilities: s.probabilities, label: STUDY_CLASSES.indexOf(label) }] : []
    })
    const { logLoss, ece } = calibration(known)
    return {
      mode,
      final: report.final,
      studyMap: report.studyMap,
      ap: {
        negative: report.ap.negative,
        typical: report.ap.typical,
        indeterminate: report.ap.indeterminate,
        atypical: report.ap.atypical,
        opacity: report.ap.opacity,
        none: report.ap.none
      },
      logLoss,
      ece
    }
  })
}

/** The comparison as a fixed-width table. */
export function studyModesTable(rows: readonly StudyModeScore[]): string {
  const f = (v: number | null) => (v === null || Number.isNaN(v) ? '   n/a' : v.toFixed(4))
  const header =
    'mode           final   studyMAP negative typical indeterm atypical opacity  none    logloss  ECE'
  const lines = rows.map((r) =>
    [
      r.mode.padEnd(14),
      f(r.final),
      f(r.studyMap),
      f(r.ap.negative),
      f(r.ap.typical),
      f(r.ap.indeterminate),
      f(r.ap.atypical),
      f(r.ap.opacity),
      f(r.ap.none),
      f(r.logLoss),
      f(r.ece)
    ].join(' ')
  )
  return [header, ...lines].join('\n') + '\n'
}
