// Retrieving studies into the cache (cache.ts): each instance streams to a temp file, is renamed to
// `<SeriesUID>/<SOPUID>.dcm` once whole, and a study moves into test/ with its completion marker
// only when every instance is there. A cancel, a timeout or a cut stream leaves the study in
// .partial/, and the next retrieve resumes it series by series.
import { createHash } from 'node:crypto'
import { copyFile, mkdir, open, rename, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import type { PacsRetrieveResult, RetrievedStudy, RetrieveProgressEvent } from '../../../common/contract'
import type { ProgressListener } from '../../../common/domain'
import { readHeaderDataSet } from '../dicom/header'
import { UserError, errorMessage } from '../errors'
import { IMAGE_CSV_FILE, STUDY_CSV_FILE } from '../labels'
import { removeStaleTemps, tempName } from '../temp-files'
import {
  countFiles,
  partialStudyDir,
  readMarker,
  studyDir,
  studyFiles,
  writeMarker,
  type CompleteMarker
} from './cache'
import type { DicomwebClient } from './client'
import type { PartSink } from './multipart'

export interface RetrieveOptions {
  /** Fetch again studies that are complete already (skipped otherwise). */
  refresh?: boolean
  /** Label CSVs copied next to the tree. */
  studyLabels?: string
  imageLabels?: string
  /** Instances per study as a search reported them (saves asking the server again). */
  instanceCounts?: ReadonlyMap<string, number | null>
  signal?: AbortSignal
  onProgress?: ProgressListener
  /** Instances and bytes as they arrive (at most every 100 ms, and at each study's end). */
  onRetrieve?: (event: RetrieveProgressEvent) => void
}

/** A UID as a folder or file name: what DicomUid allows (no slash, no leading dot). */
const SAFE_NAME = /^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$/
const EVENT_INTERVAL_MS = 100
/**
 * QIDO-RS look-ups of instance counts in flight at once: one request per study took 70-80 ms from a
 * loopback Orthanc on this (busy) machine, so 54 studies spent 4 s on them one by one.
 */
const LOOKUPS_AT_ONCE = 4
const SYNCS_AT_ONCE = 16

/**
 * Retrieves `studyUids` from `client` into `datasetDir`. Never throws for one study's failure: that
 * study is reported incomplete with the reason and the next one is tried (a cancel stops them all).
 */
export async function retrieveStudies(
  client: DicomwebClient,
  datasetDir: string,
  studyUids: readonly string[],
  options: RetrieveOptions = {}
): Promise<PacsRetrieveResult> {
  for (const uid of studyUids) if (!SAFE_NAME.test(uid)) throw new UserError(`${uid}: not a study UID`)
  await mkdir(datasetDir, { recursive: true })
  // instances a killed pull was writing (.partial/<study>/.instance-N.<pid>-….tmp): no live process holds them
  await removeStaleTemps(datasetDir, { depth: 3 })
  await copyLabels(datasetDir, options)

  const { signal } = options
  // what each study holds, asked first so progress has a total (a search's rows already say)
  const expected = new Map<string, number | null>()
  const toAsk: string[] = []
  for (const uid of studyUids) {
    if (!options.refresh && (await readMarker(studyDir(datasetDir, uid)))) continue
    const known = options.instanceCounts?.get(uid)
    if (known === undefined) toAsk.push(uid)
    expected.set(uid, known ?? null)
  }
  await inParallel(toAsk, LOOKUPS_AT_ONCE, async (uid) => {
    expected.set(uid, (await client.study(uid, signal))?.instances ?? null)
  })
  const known = [...expected.values()]
  const tally = {
    instancesTotal: known.every((n) => n !== null) ? known.reduce<number>((a, n) => a + (n ?? 0), 0) : null,
    instancesDone: 0,
    bytes: 0
  }

  const studies: RetrievedStudy[] = []
  for (const [i, studyUid] of studyUids.entries()) {
    if (signal?.aborted) {
      studies.push(incomplete(studyUid, expected.get(studyUid) ?? null, 0, 0, 'cancelled'))
      continue
    }
    if (!expected.has(studyUid)) {
      const marker = (await readMarker(studyDir(datasetDir, studyUid)))!
      studies.push({
        studyUid,
        state: 'skipped',
        expected: marker.expected,
        received: marker.received,
        bytes: 0,
        error: null
      })
      continue
    }
    const report = throttled((instancesDone, bytes) => {
      const event = {
        studyUid,
        study: i + 1,
        studies: studyUids.length,
        instancesDone,
        instancesTotal: tally.instancesTotal,
        bytes
      }
      options.onRetrieve?.(event)
      options.onProgress?.({
        stage: 'instances',
        done: instancesDone,
        total: tally.instancesTotal ?? Math.max(instancesDone, 1)
      })
    })
    studies.push(
      await retrieveStudy(client, datasetDir, studyUid, expected.get(studyUid) ?? null, tally, report, signal)
    )
  }
  signal?.throwIfAborted()
  return {
    datasetPath: datasetDir,
    studies,
    instances: studies.reduce((n, s) => n + (s.state === 'skipped' ? 0 : s.received), 0),
    bytes: tally.bytes
  }
}

type Report = (instancesDone: number, bytes: number, force: boolean) => void

async function retrieveStudy(
  client: DicomwebClient,
  datasetDir: string,
  studyUid: string,
  expected: number | null,
  tally: { instancesDone: number; bytes: number },
  report: Report,
  signal: AbortSignal | undefined
): Promise<RetrievedStudy> {
  const staging = partialStudyDir(datasetDir, studyUid)
  await mkdir(staging, { recursive: true })
  const have = await studyFiles(staging)
  const startCount = countFiles(have)
  let received = startCount
  let bytes = 0
  tally.instancesDone += startCount
  // temp files of parts that never ended (a cut stream): removed when this study's retrieve ends
  const unfinished = new Set<() => Promise<void>>()
  const sink = (_headers: unknown, index: number) =>
    instanceSink(staging, studyUid, index, have, unfinished, {
      onBytes: (n) => {
        bytes += n
        tally.bytes += n
        report(tally.instancesDone, tally.bytes, false)
      },
      onInstance: (isNew) => {
        if (!isNew) return
        received++
        tally.instancesDone++
        report(tally.instancesDone, tally.bytes, true)
      }
    })
  try {
    if (startCount === 0) {
      await client.retrieve({ studyUid }, { instance: sink }, signal)
    } else {
      // resume: only the series that are not whole yet
      for (const series of await client.studySeries(studyUid, signal)) {
        const local = have.get(series.seriesUid)?.size ?? 0
        if (series.instances !== null && local >= series.instances) continue
        await client.retrieve({ studyUid, seriesUid: series.seriesUid }, { instance: sink }, signal)
      }
    }
    if (received === 0) throw new UserError(`${client.base}/studies/${studyUid}: the server sent no instance`)
    if (expected !== null && received < expected)
      throw new UserError(
        `${client.base}/studies/${studyUid}: the server reported ${expected} instance(s) and sent ${received}`
      )
    // every instance on disk for sure before the marker says complete (also those an interrupted
    // run left): one fsync per file, several in flight, which the file system commits together
    // (an fsync per instance as it arrived took 12.4 s for 54 studies, 7.0 s without, on a busy machine)
    const files = [...have].flatMap(([series, sops]) =>
      [...sops].map((sop) => join(staging, series, `${sop}.dcm`))
    )
    await inParallel(files, SYNCS_AT_ONCE, syncFile)
    const marker: CompleteMarker = {
      studyUid,
      expected,
      received,
      bytes,
      completedAt: Date.now(),
      source: client.base
    }
    await writeMarker(staging, marker)
    await publish(staging, studyDir(datasetDir, studyUid))
    report(tally.instancesDone, tally.bytes, true)
    return { studyUid, state: 'complete', expected, received, bytes, error: null }
  } catch (err) {
    await Promise.all([...unfinished].map((remove) => remove()))
    report(tally.instancesDone, tally.bytes, true)
    const reason = signal?.aborted ? 'cancelled' : errorMessage(err)
    return incomplete(studyUid, expected, received, bytes, reason)
  }
}

function incomplete(
  studyUid: string,
  expected: number | null,
  received: number,
  bytes: number,
  error: string
): RetrievedStudy {
  return { studyUid, state: 'incomplete', expected, received, bytes, error }
}

/**
 * Where one instance's bytes go: a temp file in the staging folder, fsynced and renamed to
 * `<SeriesUID>/<SOPUID>.dcm` (its UIDs read from its own header) once the part ended whole.
 */
async function instanceSink(
  staging: string,
  studyUid: string,
  index: number,
  have: Map<string, Set<string>>,
  unfinished: Set<() => Promise<void>>,
  on: { onBytes(n: number): void; onInstance(isNew: boolean): void }
): Promise<PartSink> {
  const tmp = join(staging, tempName(`instance-${index}`))
  const handle = await open(tmp, 'wx')
  let failed = false
  const abandon = async () => {
    failed = true
    await handle.close().catch(() => undefined)
    await rm(tmp, { force: true })
  }
  unfinished.add(abandon)
  return {
    async write(chunk) {
      try {
        await handle.write(chunk)
      } catch (err) {
        await abandon()
        throw new UserError(
          `${staging}: cannot write (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)})`
        )
      }
      on.onBytes(chunk.length)
    },
    async end() {
      unfinished.delete(abandon)
      if (failed) return
      await handle.close()
      const ids = await instanceIds(tmp).catch(async (err) => {
        await rm(tmp, { force: true })
        throw err
      })
      if (ids.studyUid !== studyUid) {
        await rm(tmp, { force: true })
        throw new UserError(`instance ${ids.sopUid} belongs to study ${ids.studyUid}, not ${studyUid}`)
      }
      const target = join(staging, ids.seriesUid, `${ids.sopUid}.dcm`)
      await mkdir(dirname(target), { recursive: true })
      await rename(tmp, target)
      const series = have.get(ids.seriesUid) ?? new Set<string>()
      have.set(ids.seriesUid, series)
      const isNew = !series.has(ids.sopUid)
      series.add(ids.sopUid)
      on.onInstance(isNew)
    }
  }
}

/** The UIDs of a received instance, from its header; a name that is not a safe UID is hashed. */
async function instanceIds(path: string): Promise<{ studyUid: string; seriesUid: string; sopUid: string }> {
  const { dataSet } = await readHeaderDataSet(path, basename(path))
  const uid = (tag: string) => (dataSet.string(tag) ?? '').replace(/\0/g, '').trim()
  const studyUid = uid('x0020000d')
  const seriesUid = safeName(uid('x0020000e') || 'unknown-series')
  const sopUid = uid('x00080018')
  if (!sopUid) throw new UserError(`${basename(path)}: the instance has no SOP Instance UID (0008,0018)`)
  return { studyUid, seriesUid, sopUid: safeName(sopUid) }
}

function safeName(uid: string): string {
  return SAFE_NAME.test(uid) ? uid : `uid-${createHash('sha1').update(uid).digest('hex').slice(0, 16)}`
}

/** Moves the finished staging folder into test/ (replacing an earlier copy when refreshing). */
async function publish(staging: string, target: string): Promise<void> {
  await mkdir(dirname(target), { recursive: true })
  const old = join(dirname(target), tempName(basename(target)))
  const replaced = await rename(target, old).then(
    () => true,
    () => false
  )
  await rename(staging, target)
  if (replaced) await rm(old, { recursive: true, force: true })
}

/** Copies the label CSVs next to the tree (their Kaggle names, so openDataset reads them). */
async function copyLabels(datasetDir: string, options: RetrieveOptions): Promise<void> {
  const copies: Array<[string | undefined, string]> = [
    [options.studyLabels, STUDY_CSV_FILE],
    [options.imageLabels, IMAGE_CSV_FILE]
  ]
  for (const [from, name] of copies) {
    if (!from) continue
    const tmp = join(datasetDir, tempName(name))
    await copyFile(from, tmp).catch((err: NodeJS.ErrnoException) => {
      throw new UserError(`${from}: cannot copy the label file (${err.code ?? errorMessage(err)})`)
    })
    await rename(tmp, join(datasetDir, name))
  }
}

/** Calls `report` at most every EVENT_INTERVAL_MS, and always when forced. */
function throttled(report: Report): Report {
  let last = 0
  return (instancesDone, bytes, force) => {
    const now = Date.now()
    if (!force && now - last < EVENT_INTERVAL_MS) return
    last = now
    report(instancesDone, bytes, force)
  }
}

/** Runs `work` on every item, at most `limit` at once; the first failure stops the rest. */
async function inParallel<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>
): Promise<void> {
  let next = 0
  const lane = async () => {
    while (next < items.length) await work(items[next++])
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane))
}

async function syncFile(path: string): Promise<void> {
  const handle = await open(path, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}
