// A private Orthanc for the DICOMweb tests: Debian's `orthanc` with its DICOMweb plugin, on a free
// loopback port, with a temp storage folder and a generated config (HTTP on 127.0.0.1 only, no DICOM
// port, no remote access, basic auth with one registered user). It uploads a small demo dataset
// (POST /instances) and is stopped with its whole process group after the tests.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { generateDemo } from '../../main/core/demo'

export const ORTHANC_BINARY = '/usr/sbin/Orthanc'
const SETPRIV = '/usr/bin/setpriv'
export const DICOMWEB_PLUGIN = '/usr/share/orthanc/plugins/libOrthancDicomWeb.so'
export const ORTHANC_USER = 'cxr-tester'
export const ORTHANC_PASSWORD = 'pw-Zq81-orthanc'

export interface UploadedInstance {
  /** Path in the demo folder, e.g. `test/<study>/<series>/<image>.dcm`. */
  path: string
  studyUid: string
  seriesUid: string
  sopUid: string
  sha1: string
  bytes: number
}

export interface OrthancFixture {
  /** The DICOMweb root, `http://127.0.0.1:<port>/dicom-web`. */
  dicomweb: string
  /** Orthanc's REST root. */
  rest: string
  port: number
  /** The demo dataset the instances came from (with its label CSVs). */
  demoDir: string
  instances: UploadedInstance[]
  /** Per study: patient name/id, date, accession and description as uploaded. */
  studies: Map<
    string,
    { patientName: string; patientId: string; studyDate: string; accession: string; modalities: string[] }
  >
  startupMs: number
  stop(): Promise<void>
}

export function orthancAvailable(): boolean {
  return existsSync(ORTHANC_BINARY) && existsSync(DICOMWEB_PLUGIN)
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

/** Starts Orthanc, uploads a 5-study demo (accession numbers and descriptions set with dcmodify). */
export async function startOrthanc(): Promise<OrthancFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'cxr-orthanc-'))
  const demoDir = join(dir, 'demo')
  await generateDemo(demoDir, { studies: 4, testStudies: 1, seed: 7 })
  const files = await dcmFiles(demoDir)
  // the demo leaves AccessionNumber and StudyDescription empty: give each study its own
  const studyFolders = [
    ...new Set(files.map((f) => relative(demoDir, f).split('/').slice(0, 2).join('/')))
  ].sort()
  for (const [i, folder] of studyFolders.entries()) {
    const inStudy = files.filter((f) => relative(demoDir, f).startsWith(`${folder}/`))
    const result = spawnSync('dcmodify', [
      '-nb',
      '-i',
      `(0008,0050)=ACC-${1000 + i}`,
      '-i',
      `(0008,1030)=Chest ${i}`,
      ...inStudy
    ])
    if (result.status !== 0) throw new Error(`dcmodify failed: ${result.stderr.toString()}`)
  }

  const auth = `Basic ${Buffer.from(`${ORTHANC_USER}:${ORTHANC_PASSWORD}`).toString('base64')}`
  let launched: Launched | null = null
  const stop = async () => {
    if (launched) await killGroup(launched.child)
    await rm(dir, { recursive: true, force: true })
  }
  try {
    const started = performance.now()
    // a port found free can be taken before Orthanc binds it: then it exits, and another is tried
    for (let attempt = 1; !launched; attempt++) {
      const candidate = await launch(dir, await freePort())
      try {
        await waitUntilUp(candidate.rest, auth, candidate.child, candidate.log)
        launched = candidate
      } catch (err) {
        await killGroup(candidate.child)
        if (attempt >= 3) throw err
      }
    }
    const { rest, port } = launched!
    const startupMs = Math.round(performance.now() - started)
    const instances: UploadedInstance[] = []
    const studies: OrthancFixture['studies'] = new Map()
    for (const file of files) {
      const bytes = await readFile(file)
      const response = await fetch(`${rest}/instances`, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/dicom' },
        body: bytes
      })
      if (!response.ok) throw new Error(`upload of ${file}: HTTP ${response.status} ${await response.text()}`)
      const { ID } = (await response.json()) as { ID: string }
      const tags = (await (
        await fetch(`${rest}/instances/${ID}/simplified-tags`, { headers: { authorization: auth } })
      ).json()) as Record<string, string>
      instances.push({
        path: relative(demoDir, file),
        studyUid: tags.StudyInstanceUID,
        seriesUid: tags.SeriesInstanceUID,
        sopUid: tags.SOPInstanceUID,
        sha1: createHash('sha1').update(bytes).digest('hex'),
        bytes: bytes.length
      })
      const study = studies.get(tags.StudyInstanceUID) ?? {
        patientName: tags.PatientName ?? '',
        patientId: tags.PatientID ?? '',
        studyDate: tags.StudyDate ?? '',
        accession: tags.AccessionNumber ?? '',
        modalities: []
      }
      if (tags.Modality && !study.modalities.includes(tags.Modality)) study.modalities.push(tags.Modality)
      study.modalities.sort()
      studies.set(tags.StudyInstanceUID, study)
    }
    return { dicomweb: `${rest}/dicom-web`, rest, port, demoDir, instances, studies, startupMs, stop }
  } catch (err) {
    await stop()
    throw err
  }
}

interface Launched {
  child: ChildProcess
  port: number
  rest: string
  log: () => string
}

/** Writes the config for `port` and starts Orthanc in its own process group, killed with us. */
async function launch(dir: string, port: number): Promise<Launched> {
  const storage = join(dir, 'storage')
  const config = {
    Name: 'cxr-studio-test',
    StorageDirectory: storage,
    IndexDirectory: storage,
    HttpPort: port,
    HttpBindAddress: '127.0.0.1',
    DicomServerEnabled: false,
    DicomPort: 0,
    RemoteAccessAllowed: false,
    AuthenticationEnabled: true,
    RegisteredUsers: { [ORTHANC_USER]: ORTHANC_PASSWORD },
    Plugins: [DICOMWEB_PLUGIN],
    DicomWeb: { Enable: true, Root: '/dicom-web/', EnableWado: false, Ssl: false },
    ConcurrentJobs: 1,
    HttpCompressionEnabled: false,
    SaveJobs: false
  }
  const configPath = join(dir, 'orthanc.json')
  await writeFile(configPath, JSON.stringify(config, null, 2))
  // setpriv (util-linux) makes the kernel kill Orthanc if this test process dies without stopping it
  const [command, args] = existsSync(SETPRIV)
    ? [SETPRIV, ['--pdeathsig', 'KILL', '--', ORTHANC_BINARY, configPath]]
    : [ORTHANC_BINARY, [configPath]]
  const child = spawn(command, args, { detached: true, stdio: ['ignore', 'ignore', 'pipe'] })
  let log = ''
  child.stderr!.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)))
  return { child, port, rest: `http://127.0.0.1:${port}`, log: () => log }
}

async function waitUntilUp(
  rest: string,
  auth: string,
  child: ChildProcess,
  log: () => string
): Promise<void> {
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`Orthanc exited (${child.exitCode}): ${log()}`)
    const ok = await fetch(`${rest}/system`, { headers: { authorization: auth } }).then(
      (r) => r.ok,
      () => false
    )
    if (ok) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`Orthanc did not answer within 30 s: ${log()}`)
}

async function killGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  try {
    process.kill(-child.pid, 'SIGTERM')
  } catch {
    return
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL')
    } catch {
      // gone already
    }
  }, 5000)
  await exited
  clearTimeout(timer)
}

async function dcmFiles(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.dcm')) out.push(join(entry.parentPath, entry.name))
  }
  return out.sort()
}
