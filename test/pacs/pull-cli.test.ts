// `cxr-studio pull` and `pacs-search` as a user runs them (the built CLI): from a private Orthanc into
// a folder that `index` and `eda` open; a wrong password exits 1 naming the URL; Ctrl-C leaves the
// study unmarked. (`npm run build:node` first; npm test does.)
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cachedStudies, partialStudyDir } from '../../main/core/dicomweb/cache'
import { CLI, runCli } from '../cli'
import { fakePacs, instance, multipartBody, multipartHead, MULTIPART_TYPE, studyJson } from './fake-pacs'
import { ORTHANC_PASSWORD, ORTHANC_USER, startOrthanc, type OrthancFixture } from './orthanc'

const PASSWORD_ENV = 'CXR_TEST_PACS_PASSWORD'
let orthanc: OrthancFixture
let base: string

beforeAll(async () => {
  orthanc = await startOrthanc()
  base = await mkdtemp(join(tmpdir(), 'cxr-pull-cli-'))
  process.env[PASSWORD_ENV] = ORTHANC_PASSWORD
})
afterAll(async () => {
  delete process.env[PASSWORD_ENV]
  await orthanc?.stop()
  if (base) await rm(base, { recursive: true, force: true })
})

const auth = ['--user', ORTHANC_USER, '--password-env', PASSWORD_ENV]

describe('cxr-studio pull / pacs-search against Orthanc', () => {
  it('pacs-search prints a table of the matching studies', async () => {
    const [uid, study] = [...orthanc.studies.entries()][0]
    const run = await runCli(['pacs-search', orthanc.dicomweb, ...auth, '--patient-id', study.patientId])
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    const lines = run.stdout.trim().split('\n')
    expect(lines[0]).toMatch(
      /^Study Instance UID\s+Patient\s+Patient ID\s+Date\s+Accession\s+Mod\.\s+Series\s+Inst\.$/
    )
    expect(lines).toHaveLength(2)
    expect(lines[1].split(/\s+/).slice(0, 5)).toEqual([
      uid,
      study.patientName,
      study.patientId,
      study.studyDate,
      study.accession
    ])
  })

  it('pull --date prints what it pulls, writes the tree, and index and eda open the folder', async () => {
    const out = join(base, 'pulled')
    const dates = [...orthanc.studies.values()].map((s) => s.studyDate).sort()
    const range = `${dates[1]}-`
    const expected = [...orthanc.studies].filter(([, s]) => s.studyDate >= dates[1]).map(([uid]) => uid)
    const run = await runCli(['pull', orthanc.dicomweb, ...auth, '--date', range, '--out', out])
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout).toContain(`pulling ${expected.length} studies from ${orthanc.dicomweb} into ${out}:`)
    for (const uid of expected) expect(run.stdout).toContain(uid)
    const instances = orthanc.instances.filter((i) => expected.includes(i.studyUid))
    expect(run.stdout).toContain(
      `${out}: ${expected.length} stud(ies) retrieved, 0 complete already, 0 incomplete; ${instances.length} instance(s)`
    )
    expect((await cachedStudies(out)).map((s) => [s.studyUid, s.state])).toEqual(
      expected.sort().map((uid) => [uid, 'complete'])
    )

    const index = JSON.parse((await runCli(['index', out, '--json'])).stdout) as {
      images: unknown[]
      errors: unknown[]
    }
    expect(index.errors).toEqual([])
    expect(index.images).toHaveLength(instances.length)
    const eda = await runCli(['eda', out])
    expect(eda.code).toBe(0)
    expect(eda.stdout).toContain(
      `Files    ${instances.length} readable (train 0, test ${instances.length}), 0 unreadable`
    )

    // again: complete studies are not fetched twice
    const again = JSON.parse(
      (await runCli(['pull', orthanc.dicomweb, ...auth, '--date', range, '--out', out, '--json'])).stdout
    )
    expect(again.studies.every((s: { state: string }) => s.state === 'skipped')).toBe(true)
    expect(again.bytes).toBe(0)
  })

  it('pull --study into the workspace cache by default', async () => {
    const uid = [...orthanc.studies.keys()][0]
    const workspace = join(base, 'ws')
    const run = await runCli([
      '--workspace',
      workspace,
      'pull',
      orthanc.dicomweb,
      ...auth,
      '--study',
      uid,
      '--json'
    ])
    expect(run.code, run.stderr).toBe(0)
    const result = JSON.parse(run.stdout)
    expect(result.datasetPath).toBe(join(workspace, 'pacs', `127-0-0-1-${orthanc.port}-dicom-web`, 'studies'))
    expect(result.studies).toEqual([expect.objectContaining({ studyUid: uid, state: 'complete' })])
  })

  it('a wrong password exits 1 with the URL and the reason, and never prints the password', async () => {
    process.env.CXR_TEST_WRONG = 'wrong-secret-77'
    const run = await runCli([
      'pacs-search',
      orthanc.dicomweb,
      '--user',
      ORTHANC_USER,
      '--password-env',
      'CXR_TEST_WRONG'
    ])
    delete process.env.CXR_TEST_WRONG
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(
      new RegExp(`^cxr-studio: ${orthanc.dicomweb}/studies\\?\\S+: HTTP 401 Unauthorized`)
    )
    expect(run.stderr + run.stdout).not.toContain('wrong-secret-77')
  })

  it('asks for a study or a filter before pulling a whole server, and for the password variable', async () => {
    expect((await runCli(['pull', orthanc.dicomweb, ...auth])).stderr).toContain(
      'name the studies (--study UID ...) or filter them'
    )
    expect((await runCli(['pull', orthanc.dicomweb, '--user', 'x', '--study', '1.2'])).stderr).toContain(
      '--user needs --password-env VAR'
    )
    expect(
      (await runCli(['pull', orthanc.dicomweb, '--token-env', 'CXR_NOT_SET', '--study', '1.2'])).stderr
    ).toContain('--token-env CXR_NOT_SET: the environment variable is not set or empty')
  })
})

describe('Ctrl-C during cxr-studio pull', () => {
  it('stops, exits 1 saying the study is left incomplete, and nothing is marked complete', async () => {
    const STUDY = '1.2.826.0.1.3680043.8.498.7'
    const SERIES = `${STUDY}.1`
    const files = [await instance(STUDY, SERIES, `${SERIES}.1`), await instance(STUDY, SERIES, `${SERIES}.2`)]
    const server = await fakePacs((req, res) => {
      if (req.url?.startsWith('/dicom-web/studies?')) {
        res.writeHead(200, { 'content-type': 'application/dicom+json' })
        return void res.end(studyJson(STUDY, 2))
      }
      res.writeHead(200, { 'content-type': MULTIPART_TYPE })
      // the first instance whole, then nothing: the pull waits until Ctrl-C
      res.write(multipartBody(files).subarray(0, multipartHead(files[0]).length + files[0].length + 2 + 40))
    })
    const out = join(base, 'interrupted')
    try {
      const child = spawn(process.execPath, [CLI, 'pull', server.url, '--study', STUDY, '--out', out], {
        stdio: ['ignore', 'pipe', 'pipe']
      })
      let stderr = ''
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
      const first = join(partialStudyDir(out, STUDY), SERIES, `${SERIES}.1.dcm`)
      const deadline = Date.now() + 20_000
      while (!existsSync(first) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
      expect(existsSync(first)).toBe(true)
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
      child.kill('SIGINT')
      expect(await exited).toBe(1)
      expect(stderr).toContain(
        `cancelled; the study being retrieved is left incomplete in ${out} (pull again to resume)`
      )
      expect(await cachedStudies(out)).toEqual([
        { studyUid: STUDY, state: 'incomplete', expected: null, received: 1, completedAt: null }
      ])
      expect((await readdir(out, { recursive: true })).map(String).filter((f) => f.endsWith('.tmp'))).toEqual(
        []
      )
    } finally {
      await server.close()
    }
  })
})
