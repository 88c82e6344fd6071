// The DICOMweb client and the cache against a real PACS: Debian's Orthanc with its DICOMweb plugin
// (test/pacs/orthanc.ts), holding a 5-study demo dataset.
import { createHash } from 'node:crypto'
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openDataset } from '../../main/core/dataset'
import { cachedStudies, COMPLETE_MARKER, partialStudyDir, studyDir } from '../../main/core/dicomweb/cache'
import { DicomwebClient } from '../../main/core/dicomweb/client'
import { retrieveStudies } from '../../main/core/dicomweb/retrieve'
import { ORTHANC_PASSWORD, ORTHANC_USER, startOrthanc, type OrthancFixture } from './orthanc'

let orthanc: OrthancFixture
let out: string
const client = () =>
  new DicomwebClient({
    url: orthanc.dicomweb,
    auth: { kind: 'basic', user: ORTHANC_USER, password: ORTHANC_PASSWORD },
    timeoutMs: 10_000
  })

beforeAll(async () => {
  orthanc = await startOrthanc()
  out = await mkdtemp(join(tmpdir(), 'cxr-pull-'))
})
afterAll(async () => {
  await orthanc?.stop()
  if (out) await rm(out, { recursive: true, force: true })
})

async function sha1(path: string): Promise<string> {
  return createHash('sha1')
    .update(await readFile(path))
    .digest('hex')
}

describe('QIDO-RS search against Orthanc', () => {
  it('lists every uploaded study with the attributes of the DICOM JSON model', async () => {
    const rows = await client().searchStudies({})
    expect(rows.map((r) => r.studyUid).sort()).toEqual([...orthanc.studies.keys()].sort())
    for (const row of rows) {
      const uploaded = orthanc.studies.get(row.studyUid)!
      expect(row.patientName).toBe(uploaded.patientName)
      expect(row.patientId).toBe(uploaded.patientId)
      expect(row.studyDate).toBe(uploaded.studyDate)
      expect(row.accession).toBe(uploaded.accession)
      expect([...row.modalities].sort()).toEqual(uploaded.modalities)
      expect(row.description).toMatch(/^Chest \d$/)
      const files = orthanc.instances.filter((i) => i.studyUid === row.studyUid)
      expect(row.instances).toBe(files.length)
      expect(row.series).toBe(new Set(files.map((i) => i.seriesUid)).size)
    }
  })

  it('filters by patient name, patient id, study date (exact and range), modality and accession', async () => {
    const [uid, study] = [...orthanc.studies.entries()][1]
    const only = async (query: Parameters<DicomwebClient['searchStudies']>[0]) =>
      (await client().searchStudies(query)).map((r) => r.studyUid)
    expect(await only({ patientId: study.patientId })).toEqual([uid])
    expect(await only({ patientName: study.patientName })).toEqual([uid])
    // PN wildcard matching, as QIDO-RS allows
    expect(await only({ patientName: `${study.patientName.slice(0, -3)}*` })).toContain(uid)
    expect(await only({ accession: study.accession })).toEqual([uid])
    const sameDay = [...orthanc.studies].filter(([, s]) => s.studyDate === study.studyDate).map(([u]) => u)
    expect((await only({ studyDate: study.studyDate })).sort()).toEqual(sameDay.sort())
    const dates = [...orthanc.studies.values()].map((s) => s.studyDate).sort()
    const inRange = [...orthanc.studies].filter(([, s]) => s.studyDate >= dates[1] && s.studyDate <= dates[3])
    expect((await only({ studyDate: `${dates[1]}-${dates[3]}` })).sort()).toEqual(
      inRange.map(([u]) => u).sort()
    )
    const modality = study.modalities[0]
    const withModality = [...orthanc.studies]
      .filter(([, s]) => s.modalities.includes(modality))
      .map(([u]) => u)
    expect((await only({ modality })).sort()).toEqual(withModality.sort())
    expect(await only({ accession: 'NO-SUCH-ACCESSION' })).toEqual([])
  })

  it('pages with limit and offset', async () => {
    const all = (await client().searchStudies({})).map((r) => r.studyUid)
    const first = (await client().searchStudies({ limit: 2 })).map((r) => r.studyUid)
    const second = (await client().searchStudies({ limit: 2, offset: 2 })).map((r) => r.studyUid)
    expect(first).toHaveLength(2)
    expect(second).toHaveLength(2)
    expect(new Set([...first, ...second]).size).toBe(4)
    expect(all).toEqual(expect.arrayContaining([...first, ...second]))
  })

  it('lists the series of a study', async () => {
    const multi = [...orthanc.studies.keys()].find(
      (uid) => new Set(orthanc.instances.filter((i) => i.studyUid === uid).map((i) => i.seriesUid)).size > 1
    )!
    const series = await client().studySeries(multi)
    const expected = orthanc.instances.filter((i) => i.studyUid === multi)
    expect(series.map((s) => s.seriesUid).sort()).toEqual(
      [...new Set(expected.map((i) => i.seriesUid))].sort()
    )
    for (const s of series)
      expect(s.instances).toBe(expected.filter((i) => i.seriesUid === s.seriesUid).length)
  })

  it('a wrong password is one clear error naming the URL, without the password', async () => {
    const wrong = new DicomwebClient({
      url: orthanc.dicomweb,
      auth: { kind: 'basic', user: ORTHANC_USER, password: 'not-the-password' }
    })
    const error = await wrong.searchStudies({}).catch((err: Error) => err)
    expect(error).toBeInstanceOf(Error)
    expect((error as Error).message).toContain(`${orthanc.dicomweb}/studies`)
    expect((error as Error).message).toMatch(/HTTP 401.*wrong or missing user name\/password/)
    expect((error as Error).message).not.toContain('not-the-password')
    expect((error as Error).message).not.toContain(
      Buffer.from(`${ORTHANC_USER}:not-the-password`).toString('base64')
    )
  })
})

describe('WADO-RS retrieve into the cache', () => {
  it('writes every study as test/<study>/<series>/<sop>.dcm, byte-identical to the uploaded files, marked complete', async () => {
    const uids = [...orthanc.studies.keys()]
    const progress: number[] = []
    const result = await retrieveStudies(client(), out, uids, {
      onProgress: (p) => progress.push(p.done)
    })
    expect(result.studies.map((s) => s.state)).toEqual(uids.map(() => 'complete'))
    expect(result.instances).toBe(orthanc.instances.length)
    expect(result.bytes).toBe(orthanc.instances.reduce((n, i) => n + i.bytes, 0))
    expect(progress.at(-1)).toBe(orthanc.instances.length)
    for (const instance of orthanc.instances) {
      const path = join(studyDir(out, instance.studyUid), instance.seriesUid, `${instance.sopUid}.dcm`)
      expect(await sha1(path)).toBe(instance.sha1)
    }
    for (const uid of uids) {
      const marker = JSON.parse(await readFile(join(studyDir(out, uid), COMPLETE_MARKER), 'utf8'))
      const count = orthanc.instances.filter((i) => i.studyUid === uid).length
      expect(marker).toMatchObject({
        studyUid: uid,
        expected: count,
        received: count,
        source: orthanc.dicomweb
      })
    }
    // nothing left in staging, no temp file anywhere
    expect(await readdir(join(out, '.partial'))).toEqual([])
    const all = await readdir(out, { recursive: true })
    expect(all.filter((name) => name.endsWith('.tmp'))).toEqual([])
    expect((await cachedStudies(out)).every((s) => s.state === 'complete')).toBe(true)
  })

  it('the pulled folder opens with openDataset: every instance an image of the test split', async () => {
    const dataset = await openDataset(out)
    expect(dataset.fileErrors).toEqual([])
    expect(dataset.images).toHaveLength(orthanc.instances.length)
    expect(new Set(dataset.images.map((i) => i.split))).toEqual(new Set(['test']))
    expect(dataset.studies.map((s) => s.studyId).sort()).toEqual([...orthanc.studies.keys()].sort())
    expect(dataset.images.map((i) => i.imageId).sort()).toEqual(orthanc.instances.map((i) => i.sopUid).sort())
  })

  it('a second retrieve skips complete studies; refresh fetches them again', async () => {
    const uid = [...orthanc.studies.keys()][0]
    const skipped = await retrieveStudies(client(), out, [uid])
    expect(skipped.studies[0].state).toBe('skipped')
    expect(skipped.bytes).toBe(0)
    const refreshed = await retrieveStudies(client(), out, [uid], { refresh: true })
    expect(refreshed.studies[0].state).toBe('complete')
    expect(refreshed.bytes).toBeGreaterThan(0)
  })

  it('resumes an interrupted study series by series, keeping the instances it has', async () => {
    const multi = [...orthanc.studies.keys()].find(
      (uid) => new Set(orthanc.instances.filter((i) => i.studyUid === uid).map((i) => i.seriesUid)).size > 1
    )!
    const dir = await mkdtemp(join(tmpdir(), 'cxr-resume-'))
    try {
      // a first retrieve, then the study put back into staging minus one series: as if cut there
      await retrieveStudies(client(), dir, [multi])
      const { rename, rm: remove, mkdir } = await import('node:fs/promises')
      await mkdir(join(dir, '.partial'), { recursive: true })
      await rename(studyDir(dir, multi), partialStudyDir(dir, multi))
      await remove(join(partialStudyDir(dir, multi), COMPLETE_MARKER))
      const series = (await readdir(partialStudyDir(dir, multi))).sort()
      await remove(join(partialStudyDir(dir, multi), series[0]), { recursive: true })
      expect((await cachedStudies(dir))[0]).toMatchObject({ studyUid: multi, state: 'incomplete' })

      const result = await retrieveStudies(client(), dir, [multi])
      const missing = orthanc.instances.filter((i) => i.studyUid === multi && i.seriesUid === series[0])
      expect(result.studies[0]).toMatchObject({ state: 'complete' })
      // only the missing series travelled
      expect(result.bytes).toBe(missing.reduce((n, i) => n + i.bytes, 0))
      expect((await cachedStudies(dir))[0]).toMatchObject({ studyUid: multi, state: 'complete' })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('an unknown study is reported incomplete with the server’s reason, the others still complete', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cxr-unknown-'))
    try {
      const known = [...orthanc.studies.keys()][0]
      const result = await retrieveStudies(client(), dir, ['1.2.3.4.5.999', known])
      expect(result.studies[0]).toMatchObject({ studyUid: '1.2.3.4.5.999', state: 'incomplete' })
      expect(result.studies[0].error).toContain(`${orthanc.dicomweb}/studies/1.2.3.4.5.999`)
      expect(result.studies[1]).toMatchObject({ studyUid: known, state: 'complete' })
      expect((await cachedStudies(dir)).find((s) => s.studyUid === '1.2.3.4.5.999')?.state).toBe('incomplete')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
