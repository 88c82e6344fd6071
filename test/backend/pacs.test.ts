// The PACS view's back-end calls, through the contract (requests and responses validated), against a
// private Orthanc: save a server (its password only in the 0600 credentials file, never answered),
// check it, search, list series, retrieve as a job with progress and `retrieve` events, open the
// pulled folder with openDataset, list the cache; a wrong password, a cancel, and forgetting a server.
import { mkdtemp, readFile, rm, stat, writeFile, chmod } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type {
  DatasetSummary,
  JobEvent,
  PacsCachedDataset,
  PacsRetrieveStarted,
  PacsSearchResult,
  PacsSeries,
  PacsServer,
  PacsTestResult
} from '../../common/contract'
import { createBackend, type Backend } from '../../main/backend/index'
import { fakePacs, studyJson } from '../pacs/fake-pacs'
import { ORTHANC_PASSWORD, ORTHANC_USER, startOrthanc, type OrthancFixture } from '../pacs/orthanc'
import { caller, jobEnded } from './helpers'

let orthanc: OrthancFixture
let base: string
let workspace: string
let backend: Backend
const warnings: string[] = []
const call = caller(() => backend)

beforeAll(async () => {
  orthanc = await startOrthanc()
  base = await mkdtemp(join(tmpdir(), 'cxr-backend-pacs-'))
  workspace = join(base, 'workspace')
  backend = createBackend({ workspace, host: 'web', logError: (m) => warnings.push(m) })
})
afterAll(async () => {
  await backend?.close()
  await orthanc?.stop()
  if (base) await rm(base, { recursive: true, force: true })
})

const credentials = () => join(workspace, 'pacs', 'credentials.json')

describe('PACS back-end calls against Orthanc', () => {
  let server: PacsServer

  it('saves a server: the answer and the list never carry the password, the credentials file is 0600', async () => {
    server = await call<PacsServer>('pacsSaveServer', {
      name: 'Test Orthanc',
      url: `${orthanc.dicomweb}/`,
      auth: { kind: 'basic', user: ORTHANC_USER, password: ORTHANC_PASSWORD },
      timeoutSeconds: 20
    })
    expect(server).toEqual({
      id: 'test-orthanc',
      name: 'Test Orthanc',
      url: orthanc.dicomweb,
      auth: 'basic',
      user: ORTHANC_USER,
      hasSecret: true,
      timeoutSeconds: 20,
      cacheDir: join(workspace, 'pacs', 'test-orthanc')
    })
    const listed = await call<PacsServer[]>('pacsServers', {})
    expect(listed).toEqual([server])
    expect(JSON.stringify(listed)).not.toContain(ORTHANC_PASSWORD)
    expect((await stat(credentials())).mode & 0o777).toBe(0o600)
    expect(await readFile(join(workspace, 'pacs', 'servers.json'), 'utf8')).not.toContain(ORTHANC_PASSWORD)
  })

  it('checks the connection; a draft with a wrong password fails with the URL and the reason, not the password', async () => {
    const ok = await call<PacsTestResult>('pacsTest', { serverId: server.id })
    expect(ok.ok).toBe(true)
    expect(ok.message).toMatch(new RegExp(`^${orthanc.dicomweb} answered QIDO-RS in \\d+ ms$`))
    const bad = await call<PacsTestResult>('pacsTest', {
      draft: {
        name: 'x',
        url: orthanc.dicomweb,
        auth: { kind: 'basic', user: ORTHANC_USER, password: 'wrong-pw-123' }
      }
    })
    expect(bad.ok).toBe(false)
    expect(bad.message).toContain(`${orthanc.dicomweb}/studies?`)
    expect(bad.message).toContain('HTTP 401')
    expect(bad.message).not.toContain('wrong-pw-123')
    // a draft of the saved server without a password uses the stored one
    const keep = await call<PacsTestResult>('pacsTest', {
      draft: {
        id: server.id,
        name: 'Test Orthanc',
        url: orthanc.dicomweb,
        auth: { kind: 'basic', user: ORTHANC_USER }
      }
    })
    expect(keep.ok).toBe(true)
  })

  it('searches by accession and lists a study’s series', async () => {
    const [uid, study] = [...orthanc.studies.entries()][2]
    const found = await call<PacsSearchResult>('pacsSearch', {
      serverId: server.id,
      query: { accession: study.accession }
    })
    expect(found.studies).toEqual([
      expect.objectContaining({
        studyUid: uid,
        accession: study.accession,
        patientId: study.patientId,
        cached: null
      })
    ])
    expect(found.more).toBe(false)
    const series = await call<PacsSeries[]>('pacsSeries', { serverId: server.id, studyUid: uid })
    expect(series.map((s) => s.seriesUid).sort()).toEqual(
      [...new Set(orthanc.instances.filter((i) => i.studyUid === uid).map((i) => i.seriesUid))].sort()
    )
  })

  it('retrieves as a job (progress in instances, retrieve events with bytes), and openDataset opens the result', async () => {
    const uids = [...orthanc.studies.keys()]
    const events: JobEvent[] = []
    const stop = backend.jobs.onEvent((event) => events.push(event))
    const started = await call<PacsRetrieveStarted>('pacsRetrieve', { serverId: server.id, studyUids: uids })
    expect(started.datasetPath).toBe(join(workspace, 'pacs', server.id, 'studies'))
    const job = await jobEnded(backend, started.jobId)
    stop()
    expect(job.error).toBeNull()
    expect(job.state).toBe('done')
    expect(job.kind).toBe('pacs-retrieve')
    expect(job.progress).toEqual({
      stage: 'instances',
      done: orthanc.instances.length,
      total: orthanc.instances.length
    })
    const retrieveEvents = events.filter((e) => e.jobId === started.jobId && e.name === 'retrieve')
    const last = retrieveEvents.at(-1)!
    expect(last.name === 'retrieve' && last.payload).toMatchObject({
      studies: uids.length,
      instancesDone: orthanc.instances.length,
      instancesTotal: orthanc.instances.length,
      bytes: orthanc.instances.reduce((n, i) => n + i.bytes, 0)
    })
    expect(job.result).toMatchObject({
      datasetPath: started.datasetPath,
      instances: orthanc.instances.length
    })

    const summary = await call<DatasetSummary>('openDataset', { path: started.datasetPath })
    expect(summary.studies).toBe(uids.length)
    expect(summary.images).toBe(orthanc.instances.length)

    const searched = await call<PacsSearchResult>('pacsSearch', { serverId: server.id, query: {} })
    expect(searched.studies.map((s) => s.cached)).toEqual(uids.map(() => 'complete'))
    const cache = await call<PacsCachedDataset[]>('pacsCache', { serverId: server.id })
    expect(cache).toHaveLength(1)
    expect(cache[0]).toMatchObject({
      serverId: server.id,
      name: 'studies',
      path: started.datasetPath,
      labelFiles: []
    })
    expect(cache[0].studies.every((s) => s.state === 'complete')).toBe(true)
  })

  it('copies label CSVs next to the pulled tree, so the folder opens with labels', async () => {
    const uid = [...orthanc.studies.keys()][0]
    const studyCsv = join(base, 'labels.csv')
    await writeFile(
      studyCsv,
      `id,Negative for Pneumonia,Typical Appearance,Indeterminate Appearance,Atypical Appearance\n${uid}_study,0,1,0,0\n`
    )
    const started = await call<PacsRetrieveStarted>('pacsRetrieve', {
      serverId: server.id,
      studyUids: [uid],
      dataset: 'labelled',
      studyLabels: studyCsv
    })
    expect((await jobEnded(backend, started.jobId)).state).toBe('done')
    const summary = await call<DatasetSummary>('openDataset', { path: started.datasetPath })
    expect(summary.labelErrors).toBe(0)
    const rows = await call<Array<{ studyId: string; studyLabel: string | null }>>('listImages', {
      datasetId: summary.datasetId
    })
    expect(rows.length).toBeGreaterThan(0)
    expect(rows.every((row) => row.studyId === uid && row.studyLabel === 'typical')).toBe(true)
    const cache = await call<PacsCachedDataset[]>('pacsCache', { serverId: server.id })
    expect(cache.find((d) => d.name === 'labelled')?.labelFiles).toEqual(['train_study_level.csv'])
  })

  it('a retrieve that fails ends the job as failed naming the study, the URL and the reason', async () => {
    const started = await call<PacsRetrieveStarted>('pacsRetrieve', {
      serverId: server.id,
      studyUids: ['1.2.3.999'],
      dataset: 'missing'
    })
    const job = await jobEnded(backend, started.jobId)
    expect(job.state).toBe('failed')
    expect(job.error).toContain('0 of 1 study retrieved')
    expect(job.error).toContain(`1.2.3.999 (0 instances): ${orthanc.dicomweb}/studies/1.2.3.999`)
    const cache = await call<PacsCachedDataset[]>('pacsCache', { serverId: server.id })
    expect(cache.find((d) => d.name === 'missing')?.studies).toEqual([
      { studyUid: '1.2.3.999', state: 'incomplete', expected: null, received: 0, completedAt: null }
    ])
  })

  it('cancel ends the job as cancelled and leaves no study marked', async () => {
    const uids = [...orthanc.studies.keys()]
    const started = await call<PacsRetrieveStarted>('pacsRetrieve', {
      serverId: server.id,
      studyUids: uids,
      dataset: 'cancelled'
    })
    expect(await call<{ cancelled: boolean }>('cancelJob', { jobId: started.jobId })).toEqual({
      cancelled: true
    })
    const job = await jobEnded(backend, started.jobId)
    expect(job.state).toBe('cancelled')
    const cache = await call<PacsCachedDataset[]>('pacsCache', { serverId: server.id })
    const studies = cache.find((d) => d.name === 'cancelled')?.studies ?? []
    expect(studies.filter((s) => s.state === 'complete')).toEqual([])
  })

  it('a credentials file others can read is made private again, and said so', async () => {
    await chmod(credentials(), 0o644)
    expect((await call<PacsTestResult>('pacsTest', { serverId: server.id })).ok).toBe(true)
    expect((await stat(credentials())).mode & 0o777).toBe(0o600)
    expect(
      warnings.some((w) => w.includes('other users could read it (mode 644); made it private (600)'))
    ).toBe(true)
  })

  it('switching to no auth drops the password; deleting the server forgets it and can remove its cache', async () => {
    const none = await call<PacsServer>('pacsSaveServer', {
      id: server.id,
      name: 'Test Orthanc',
      url: orthanc.dicomweb,
      auth: { kind: 'none' }
    })
    expect(none.hasSecret).toBe(false)
    expect(await readFile(credentials(), 'utf8')).not.toContain(server.id)
    const refused = await call<PacsTestResult>('pacsTest', { serverId: server.id })
    expect(refused).toMatchObject({ ok: false })
    expect(refused.message).toContain('HTTP 401')
    expect(await call('pacsDeleteServer', { serverId: server.id, removeCache: true })).toEqual({
      deleted: true,
      cacheRemoved: true
    })
    expect(await call<PacsServer[]>('pacsServers', {})).toEqual([])
    expect(await stat(join(workspace, 'pacs', server.id)).catch(() => null)).toBeNull()
    await expect(call('pacsSearch', { serverId: server.id, query: {} })).rejects.toThrow(
      'no saved DICOMweb server with id test-orthanc'
    )
  })

  it('refuses a URL with credentials in it and a bad study date before asking any server', async () => {
    await expect(
      call('pacsSaveServer', {
        name: 'x',
        url: 'http://user:pw@127.0.0.1:1/dicom-web',
        auth: { kind: 'none' }
      })
    ).rejects.toThrow(/put the user name and password in the auth fields/)
    await expect(call('pacsSearch', { serverId: 'x', query: { studyDate: '2020-01-01' } })).rejects.toThrow(
      /a study date is YYYYMMDD or YYYYMMDD-YYYYMMDD/
    )
  })
})

describe('a server with a bearer token', () => {
  it('keeps the token in the credentials file, sends it as Authorization: Bearer, never answers it', async () => {
    const token = 'bearer-tok-8841'
    const fake = await fakePacs((req, res) => {
      const ok = req.headers.authorization === `Bearer ${token}`
      res.writeHead(ok ? 200 : 401, { 'content-type': 'application/dicom+json' })
      res.end(ok ? studyJson('1.2.3.4', 2) : '')
    })
    try {
      const saved = await call<PacsServer>('pacsSaveServer', {
        name: 'Cloud PACS',
        url: fake.url,
        auth: { kind: 'bearer', token }
      })
      expect(saved).toMatchObject({ id: 'cloud-pacs', auth: 'bearer', user: null, hasSecret: true })
      expect(JSON.stringify(await call('pacsServers', {}))).not.toContain(token)
      const found = await call<PacsSearchResult>('pacsSearch', {
        serverId: saved.id,
        query: { patientId: 'P1' }
      })
      expect(found.studies).toEqual([
        expect.objectContaining({ studyUid: '1.2.3.4', instances: 2, cached: null })
      ])
      expect(fake.requests.at(-1)!.headers.authorization).toBe(`Bearer ${token}`)
      expect(fake.requests.at(-1)!.url).toContain('PatientID=P1')
      // a new token replaces the old one; the old one is sent no more
      await call('pacsSaveServer', {
        id: saved.id,
        name: 'Cloud PACS',
        url: fake.url,
        auth: { kind: 'bearer', token: 'other' }
      })
      expect((await call<PacsTestResult>('pacsTest', { serverId: saved.id })).ok).toBe(false)
      expect(fake.requests.at(-1)!.headers.authorization).toBe('Bearer other')
    } finally {
      await fake.close()
    }
  })
})
