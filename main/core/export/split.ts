// Train/validation split by study: seeded, deterministic and stratified by study class; with a floor
// of validation studies per class, or as one fold of a stratified k-fold partition.
import type { DatasetImage, DatasetStudy } from '../../../common/dataset'
import { STUDY_CLASSES } from '../../../common/domain'
import { UserError } from '../errors'

export interface SplitOptions {
  /** Fraction of studies (per class) that go to validation, in [0, 1). */
  valFraction: number
  seed: number
  /**
   * At least this many validation studies per study class (0: none), never more than a quarter of the
   * class and never its last training study; only when valFraction > 0. A 10% split of a small
   * dataset leaves one study per class, and a score on four studies cannot tell two models apart.
   */
  valMinPerClass?: number
  /** Validate on fold `index` of a `count`-fold partition instead (valFraction and the floor do not apply). */
  fold?: { count: number; index: number }
}

export interface StudySplit {
  train: DatasetImage[]
  val: DatasetImage[]
  valStudyIds: Set<string>
}

/** Studies per stratum (study class, or 'unlabelled') on each side of a split. */
export interface StratumCounts {
  train: Record<string, number>
  val: Record<string, number>
}

/** The stratum of a study: its class, or 'unlabelled' when its study row is missing or not one-hot. */
export function studyStratum(study: DatasetStudy | undefined): string {
  return study?.label?.label ?? 'unlabelled'
}

/**
 * Splits images so that all images of a study land on the same side. Within each study class,
 * valCount(n, valFraction, valMinPerClass) studies go to validation, chosen by a seeded shuffle of the
 * sorted study ids (or the studies of one fold of foldsByStudy): the same images and seed always give
 * the same split, whatever their order. Images keep their input order inside each side.
 */
export function splitByStudy(
  images: readonly DatasetImage[],
  studies: readonly DatasetStudy[],
  options: SplitOptions
): StudySplit {
  const { valFraction, seed } = options
  const floor = options.valMinPerClass ?? 0
  if (!(valFraction >= 0 && valFraction < 1))
    throw new UserError(`validation fraction must be in [0, 1), got ${valFraction}`)
  if (!Number.isInteger(seed)) throw new UserError(`seed must be an integer, got ${seed}`)
  if (!(Number.isInteger(floor) && floor >= 0))
    throw new UserError(`validation minimum per class must be a whole number >= 0, got ${floor}`)

  const strata = strataOf(images, studies)
  const valStudyIds = new Set<string>()
  if (options.fold) {
    const folds = foldsByStudy(images, studies, { folds: options.fold.count, seed })
    if (!(
      Number.isInteger(options.fold.index) &&
      options.fold.index >= 0 &&
      options.fold.index < options.fold.count
    ))
      throw new UserError(`fold must be in 0..${options.fold.count - 1}, got ${options.fold.index}`)
    for (const [studyId, fold] of folds) if (fold === options.fold.index) valStudyIds.add(studyId)
  } else {
    const random = mulberry32(seed)
    for (const [stratum, ids] of strata) {
      shuffle(ids, random)
      const count = valCount(ids.length, valFraction, STUDY_CLASS_NAMES.has(stratum) ? floor : 0)
      for (const id of ids.slice(0, count)) valStudyIds.add(id)
    }
  }
  return {
    train: images.filter((image) => !valStudyIds.has(image.studyId)),
    val: images.filter((image) => valStudyIds.has(image.studyId)),
    valStudyIds
  }
}

const STUDY_CLASS_NAMES = new Set<string>(STUDY_CLASSES)

/**
 * Validation studies of a class of `n`: round(n × fraction), raised to the floor but to no more than
 * a quarter of the class (one study at least), and never all of it (the last study trains). No validation when fraction is 0.
 * The quarter: a floor of 4 on the 10-study classes of the demo took 40% of each class out of
 * training, and the held-out score fell (0.48 -> 0.39 mean over 3 seeds); a quarter keeps 75%.
 */
export function valCount(n: number, valFraction: number, floor: number): number {
  if (valFraction <= 0 || n <= 1) return 0
  const byFraction = Math.round(n * valFraction)
  return Math.min(n - 1, Math.max(byFraction, Math.min(floor, Math.max(1, Math.floor(n / 4)))))
}

/** The dataset's studies (of the given images) by stratum, sorted by stratum name and by study id. */
function strataOf(images: readonly DatasetImage[], studies: readonly DatasetStudy[]): Map<string, string[]> {
  const studyById = new Map(studies.map((s) => [s.studyId, s]))
  const strata = new Map<string, string[]>()
  for (const studyId of new Set(images.map((image) => image.studyId))) {
    const stratum = studyStratum(studyById.get(studyId))
    const ids = strata.get(stratum)
    if (ids) ids.push(studyId)
    else strata.set(stratum, [studyId])
  }
  return new Map([...strata.keys()].sort().map((k) => [k, strata.get(k)!.sort()]))
}

/**
 * A stratified k-fold partition by study: every study in exactly one fold (0-based), each class
 * dealt round-robin over the folds after a seeded shuffle, each class starting where the previous
 * one stopped so that the folds' sizes also differ by at most one. Deterministic per seed.
 */
export function foldsByStudy(
  images: readonly DatasetImage[],
  studies: readonly DatasetStudy[],
  options: { folds: number; seed: number }
): Map<string, number> {
  const { folds, seed } = options
  if (!(Number.isInteger(folds) && folds >= 2))
    throw new UserError(`folds must be a whole number >= 2, got ${folds}`)
  if (!Number.isInteger(seed)) throw new UserError(`seed must be an integer, got ${seed}`)
  const random = mulberry32(seed)
  const foldOf = new Map<string, number>()
  let next = 0
  for (const ids of strataOf(images, studies).values()) {
    shuffle(ids, random)
    for (const id of ids) {
      foldOf.set(id, next)
      next = (next + 1) % folds
    }
  }
  return foldOf
}

/** Studies per stratum on each side of a split (for split.json and the log). */
export function stratumCounts(
  images: readonly DatasetImage[],
  studies: readonly DatasetStudy[],
  valStudyIds: ReadonlySet<string>
): StratumCounts {
  const counts: StratumCounts = { train: {}, val: {} }
  for (const [stratum, ids] of strataOf(images, studies)) {
    const val = ids.filter((id) => valStudyIds.has(id)).length
    counts.val[stratum] = val
    counts.train[stratum] = ids.length - val
  }
  return counts
}

/** A small, fast, well-mixed 32-bit generator; enough for shuffling and reproducible everywhere. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function shuffle<T>(items: T[], random: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[items[i], items[j]] = [items[j], items[i]]
  }
}
