// The local copy of retrieved studies: a Kaggle-style tree that openDataset opens like any folder.
//   <dataset>/test/<StudyUID>/<SeriesUID>/<SOPUID>.dcm    complete studies, each with .complete.json
//   <dataset>/.partial/<StudyUID>/<SeriesUID>/<SOPUID>.dcm a study being retrieved or interrupted
//   <dataset>/train_study_level.csv, train_image_level.csv label CSVs, when the user supplied them
// A study is moved from .partial/ into test/ only after every instance is on disk and its marker is
// written, so the indexer (which skips dot folders) never sees half a study, and a study under
// test/ without its marker (copied there by hand, or by an older version) is listed as incomplete.
import type { Dirent } from 'node:fs'
import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { CachedStudy, PacsCachedDataset } from '../../../common/contract'
import type { FileError } from '../../../common/domain'
import { writeJsonAtomic } from '../fs-atomic'
import { IMAGE_CSV_FILE, STUDY_CSV_FILE } from '../labels'

export const PACS_DIR = 'pacs'
export const DEFAULT_DATASET_NAME = 'studies'
export const COMPLETE_MARKER = '.complete.json'
export const PARTIAL_DIR = '.partial'
/** Pulled studies go under the split the dataset layer treats as unlabelled images to predict. */
export const PULL_SPLIT = 'test'

export interface CompleteMarker {
  studyUid: string
  /** Instances the server reported for the study (null when it did not say). */
  expected: number | null
  received: number
  bytes: number
  completedAt: number
  /** The DICOMweb root it came from (no credentials: those never go into URLs here). */
  source: string
}

export function serverCacheDir(workspace: string, serverId: string): string {
  return join(workspace, PACS_DIR, serverId)
}

export function studyDir(datasetDir: string, studyUid: string): string {
  return join(datasetDir, PULL_SPLIT, studyUid)
}

export function partialStudyDir(datasetDir: string, studyUid: string): string {
  return join(datasetDir, PARTIAL_DIR, studyUid)
}

export async function readMarker(dir: string): Promise<CompleteMarker | null> {
  try {
    const marker = JSON.parse(await readFile(join(dir, COMPLETE_MARKER), 'utf8')) as CompleteMarker
    return typeof marker.received === 'number' ? marker : null
  } catch {
    return null
  }
}

export function writeMarker(dir: string, marker: CompleteMarker): Promise<void> {
  return writeJsonAtomic(join(dir, COMPLETE_MARKER), marker)
}

/** The `.dcm` files of a study folder, by series: what a resume keeps. */
export async function studyFiles(dir: string): Promise<Map<string, Set<string>>> {
  const bySeries = new Map<string, Set<string>>()
  const series = await entries(dir)
  for (const entry of series) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue
    const files = (await entries(join(dir, entry.name)))
      .filter((f) => f.isFile() && f.name.toLowerCase().endsWith('.dcm'))
      .map((f) => f.name.slice(0, -4))
    bySeries.set(entry.name, new Set(files))
  }
  return bySeries
}

export function countFiles(bySeries: Map<string, Set<string>>): number {
  let n = 0
  for (const files of bySeries.values()) n += files.size
  return n
}

/** Each study of a pulled dataset with its state: complete (marked), incomplete (partial or unmarked). */
export async function cachedStudies(datasetDir: string): Promise<CachedStudy[]> {
  const studies = new Map<string, CachedStudy>()
  for (const entry of await entries(join(datasetDir, PULL_SPLIT))) {
    if (!entry.isDirectory()) continue
    const dir = join(datasetDir, PULL_SPLIT, entry.name)
    const marker = await readMarker(dir)
    studies.set(entry.name, {
      studyUid: entry.name,
      state: marker ? 'complete' : 'incomplete',
      expected: marker?.expected ?? null,
      received: marker ? marker.received : countFiles(await studyFiles(dir)),
      completedAt: marker?.completedAt ?? null
    })
  }
  for (const entry of await entries(join(datasetDir, PARTIAL_DIR))) {
    if (!entry.isDirectory() || studies.get(entry.name)?.state === 'complete') continue
    studies.set(entry.name, {
      studyUid: entry.name,
      state: 'incomplete',
      expected: null,
      received: countFiles(await studyFiles(join(datasetDir, PARTIAL_DIR, entry.name))),
      completedAt: null
    })
  }
  return [...studies.values()].sort((a, b) =>
    a.studyUid < b.studyUid ? -1 : a.studyUid > b.studyUid ? 1 : 0
  )
}

/**
 * The studies of `.partial/` as file errors of the dataset (openDataset adds them): the indexer never
 * opens them (a dot folder), and the user sees that the pulled folder is not whole and why.
 */
export async function incompleteRetrievals(datasetDir: string): Promise<FileError[]> {
  const errors: FileError[] = []
  for (const entry of await entries(join(datasetDir, PARTIAL_DIR))) {
    if (!entry.isDirectory()) continue
    const received = countFiles(await studyFiles(join(datasetDir, PARTIAL_DIR, entry.name)))
    errors.push({
      path: `${PARTIAL_DIR}/${entry.name}`,
      reason: `study retrieved incompletely from a DICOMweb server (${received} instance(s) so far), not opened: pull or retrieve it again to complete it`
    })
  }
  return errors
}

/** The pulled datasets under a server's cache folder. */
export async function cachedDatasets(workspace: string, serverId: string): Promise<PacsCachedDataset[]> {
  const root = serverCacheDir(workspace, serverId)
  const out: PacsCachedDataset[] = []
  for (const entry of await entries(root)) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue
    const path = join(root, entry.name)
    const names = new Set((await entries(path)).map((e) => e.name))
    out.push({
      serverId,
      name: entry.name,
      path,
      studies: await cachedStudies(path),
      labelFiles: [STUDY_CSV_FILE, IMAGE_CSV_FILE].filter((file) => names.has(file))
    })
  }
  return out
}

async function entries(dir: string): Promise<Dirent[]> {
  return readdir(dir, { withFileTypes: true }).catch(() => [])
}
