// Train/validation split by study: seeded, deterministic and stratified by study class.
import type { DatasetImage, DatasetStudy } from '../../../common/dataset'
import { UserError } from '../errors'

export interface SplitOptions {
  /** Fraction of studies (per class) that go to validation, in [0, 1). */
  valFraction: number
  seed: number
}

export interface StudySplit {
  train: DatasetImage[]
  val: DatasetImage[]
  valStudyIds: Set<string>
}

/** The stratum of a study: its class, or 'unlabelled' when its study row is missing or not one-hot. */
export function studyStratum(study: DatasetStudy | undefined): string {
  return study?.label?.label ?? 'unlabelled'
}

/**
 * Splits images so that all images of a study land on the same side. Within each study class,
 * round(n × valFraction) studies go to validation, chosen by a seeded shuffle of the sorted study
 * ids: the same images and seed always give the same split, whatever their order. Images keep their
 * input order inside each side.
 */
export function splitByStudy(
  images: readonly DatasetImage[],
  studies: readonly DatasetStudy[],
  options: SplitOptions
): StudySplit {
  const { valFraction, seed } = options
  if (!(valFraction >= 0 && valFraction < 1))
    throw new UserError(`validation fraction must be in [0, 1), got ${valFraction}`)
  if (!Number.isInteger(seed)) throw new UserError(`seed must be an integer, got ${seed}`)

  const studyById = new Map(studies.map((s) => [s.studyId, s]))
  const strata = new Map<string, string[]>()
  for (const studyId of new Set(images.map((image) => image.studyId))) {
    const stratum = studyStratum(studyById.get(studyId))
    const ids = strata.get(stratum)
    if (ids) ids.push(studyId)
    else strata.set(stratum, [studyId])
  }

  const random = mulberry32(seed)
  const valStudyIds = new Set<string>()
  for (const stratum of [...strata.keys()].sort()) {
    const ids = strata.get(stratum)!.sort()
    shuffle(ids, random)
    for (const id of ids.slice(0, Math.round(ids.length * valFraction))) valStudyIds.add(id)
  }
  return {
    train: images.filter((image) => !valStudyIds.has(image.studyId)),
    val: images.filter((image) => valStudyIds.has(image.studyId)),
    valStudyIds
  }
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
