// The seed notebook's box-majority rule for study rows, written once: a study is as positive as
// its images' best boxes say, and the positive classes share that by their training frequency.
import { STUDY_CLASSES, type StudyClass } from '../../../common/domain'

export type StudyPriors = Record<StudyClass, number>

export const UNIFORM_PRIORS: StudyPriors = {
  negative: 0.25,
  typical: 0.25,
  indeterminate: 0.25,
  atypical: 0.25
}

/**
 * p = the mean of the study's images' best box scores; negative gets 1 - p, and typical,
 * indeterminate and atypical share p in proportion to `priors` (so the commonest ranks first).
 */
export function boxMajority(bestScores: readonly number[], priors: StudyPriors): Record<StudyClass, number> {
  const p = bestScores.length
    ? Math.min(1, Math.max(0, bestScores.reduce((a, b) => a + b, 0) / bestScores.length))
    : 0
  const positiveTotal = priors.typical + priors.indeterminate + priors.atypical || 1
  return Object.fromEntries(
    STUDY_CLASSES.map((c) => [c, c === 'negative' ? 1 - p : (p * priors[c]) / positiveTotal])
  ) as Record<StudyClass, number>
}
