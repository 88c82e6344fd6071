// `cxr-studio pull URL` and `cxr-studio pacs-search URL`: a DICOMweb server (a PACS) from the command
// line. pull searches (QIDO-RS) with the filters or takes --study UIDs, prints what it will pull,
// retrieves (WADO-RS) into a Kaggle-style folder that every other command opens, with a progress bar;
// Ctrl-C leaves the study being retrieved unmarked (incomplete), and the next pull resumes it.
import { Command, InvalidArgumentError, Option } from 'commander'
import { resolve } from 'node:path'
import type { PacsQuery, PacsRetrieveResult } from '../../../common/contract'
import { PacsQuery as PacsQuerySchema } from '../../../common/contract'
import { checkRetrieved } from '../../backend/pacs/service'
import { DEFAULT_DATASET_NAME, serverCacheDir } from '../../core/dicomweb/cache'
import { DicomwebClient, normaliseBase } from '../../core/dicomweb/client'
import type { DicomwebAuth } from '../../core/dicomweb/http'
import type { StudyRow } from '../../core/dicomweb/json-model'
import { retrieveStudies } from '../../core/dicomweb/retrieve'
import { UserError } from '../../core/errors'
import { printJson, workspaceOf } from '../context'
import { runCliJob } from '../jobs'
import { positiveInteger, positiveNumber } from '../parsers'

interface ConnectOptions {
  user?: string
  passwordEnv?: string
  tokenEnv?: string
  timeout?: number
}

interface SearchOptions extends ConnectOptions {
  patient?: string
  patientId?: string
  date?: string
  modality?: string
  accession?: string
  limit?: number
  json?: boolean
}

interface PullOptions extends SearchOptions {
  study?: string[]
  out?: string
  all?: boolean
  list?: boolean
  refresh?: boolean
  studyLabels?: string
  imageLabels?: string
}

export function registerPull(program: Command): void {
  const command = program
    .command('pull')
    .description(
      'retrieve studies from a DICOMweb server (a PACS) into a Kaggle-style folder (test/<study>/<series>/<instance>.dcm) that index, eda, quality and predict open'
    )
    .argument('<url>', 'the DICOMweb root, e.g. http://pacs.example:8042/dicom-web')
    .option('--study <uid...>', 'Study Instance UID(s) to pull (else the studies the filters find)')
  searchOptions(command)
    .option(
      '--out <dir>',
      `folder to write (default: <workspace>/pacs/<server>/${DEFAULT_DATASET_NAME}, the cache the app uses)`
    )
    .option('--all', 'with no --study and no filter: pull every study the server lists (up to --limit)')
    .option('--list', 'only list what would be pulled')
    .option('--refresh', 'fetch again studies that are complete in the folder already')
    .option(
      '--study-labels <csv>',
      'copy this file next to the tree as train_study_level.csv (ids: study UIDs)'
    )
    .option(
      '--image-labels <csv>',
      'copy this file next to the tree as train_image_level.csv (ids: instance UIDs)'
    )
    .action(async (url: string, options: PullOptions, cmd: Command) => {
      const client = clientOf(url, options)
      const studies = await studiesToPull(client, options)
      if (options.list) {
        if (options.json) printJson(studies)
        else process.stdout.write(studyTable(studies))
        return
      }
      const out = options.out
        ? resolve(options.out)
        : `${serverCacheDir(workspaceOf(cmd), serverIdOf(client.base))}/${DEFAULT_DATASET_NAME}`
      if (!options.json) {
        process.stdout.write(
          `pulling ${studies.length} stud${studies.length === 1 ? 'y' : 'ies'} from ${client.base} into ${out}:\n`
        )
        process.stdout.write(studyTable(studies))
      }
      const result = await runCliJob((jobs) =>
        jobs.start(
          { kind: 'pacs-retrieve', title: `Pulling from ${client.base}` },
          ({ signal, onProgress }) =>
            retrieveStudies(
              client,
              out,
              studies.map((s) => s.studyUid),
              {
                refresh: options.refresh,
                instanceCounts: new Map(studies.map((s) => [s.studyUid, s.instances])),
                studyLabels: options.studyLabels && resolve(options.studyLabels),
                imageLabels: options.imageLabels && resolve(options.imageLabels),
                signal,
                onProgress
              }
            )
        )
      ).catch((err: unknown) => {
        if (err instanceof UserError && err.message === 'cancelled')
          throw new UserError(
            `cancelled; the study being retrieved is left incomplete in ${out} (pull again to resume)`
          )
        throw err
      })
      if (options.json) printJson(result)
      else process.stdout.write(pullSummary(result))
      checkRetrieved(result)
    })
}

export function registerPacsSearch(program: Command): void {
  const command = program
    .command('pacs-search')
    .description('search the studies of a DICOMweb server (QIDO-RS) and print them as a table')
    .argument('<url>', 'the DICOMweb root, e.g. http://pacs.example:8042/dicom-web')
  searchOptions(command).action(async (url: string, options: SearchOptions) => {
    const rows = await clientOf(url, options).searchStudies(queryOf(options))
    if (options.json) printJson(rows)
    else process.stdout.write(studyTable(rows))
  })
}

function searchOptions(command: Command): Command {
  return command
    .option('--patient <name>', 'patient name (DICOM PN, wildcards * and ? allowed, e.g. "DOE^J*")')
    .option('--patient-id <id>', 'patient id')
    .option('--date <yyyymmdd>', 'study date, or a range YYYYMMDD-YYYYMMDD (either end may be open)')
    .option('--modality <code>', 'a modality in the study, e.g. CR or DX')
    .option('--accession <number>', 'accession number')
    .option('--limit <n>', 'at most this many studies (default 100)', positiveInteger)
    .option('--user <name>', 'basic auth user name (the password from --password-env)')
    .option('--password-env <var>', 'environment variable holding the basic auth password')
    .addOption(
      new Option('--token-env <var>', 'environment variable holding a bearer token').conflicts('user')
    )
    .option(
      '--timeout <seconds>',
      'longest wait for an answer or for more bytes (default 30)',
      positiveNumber
    )
    .option('--json', 'print JSON instead of text')
}

function clientOf(url: string, options: ConnectOptions): DicomwebClient {
  return new DicomwebClient({
    url: normaliseBase(url),
    auth: authOf(options),
    timeoutMs: (options.timeout ?? 30) * 1000
  })
}

/** Secrets come from the environment, never from the command line (ps and shell history show it). */
function authOf(options: ConnectOptions): DicomwebAuth {
  const fromEnv = (name: string, what: string) => {
    const value = process.env[name]
    if (!value) throw new UserError(`--${what}-env ${name}: the environment variable is not set or empty`)
    return value
  }
  if (options.tokenEnv) return { kind: 'bearer', token: fromEnv(options.tokenEnv, 'token') }
  if (options.user) {
    if (!options.passwordEnv)
      throw new UserError(
        '--user needs --password-env VAR (the password is read from that environment variable)'
      )
    return { kind: 'basic', user: options.user, password: fromEnv(options.passwordEnv, 'password') }
  }
  if (options.passwordEnv) throw new UserError('--password-env needs --user')
  return { kind: 'none' }
}

function queryOf(options: SearchOptions): PacsQuery {
  const parsed = PacsQuerySchema.safeParse({
    patientName: options.patient,
    patientId: options.patientId,
    studyDate: options.date,
    modality: options.modality?.toUpperCase(),
    accession: options.accession,
    limit: options.limit ?? 100
  })
  if (!parsed.success)
    throw new InvalidArgumentError(parsed.error.issues.map((issue) => issue.message).join('; '))
  return parsed.data
}

async function studiesToPull(client: DicomwebClient, options: PullOptions): Promise<StudyRow[]> {
  if (options.study?.length) {
    const rows: StudyRow[] = []
    for (const uid of options.study) {
      const row = await client.study(uid)
      if (!row) throw new UserError(`${client.base}: no study ${uid} on the server`)
      rows.push(row)
    }
    return rows
  }
  const query = queryOf(options)
  const filtered = Object.entries(query).some(([key, value]) => key !== 'limit' && value !== undefined)
  if (!filtered && !options.all)
    throw new UserError(
      'name the studies (--study UID ...) or filter them (--patient, --patient-id, --date, --modality, --accession); --all pulls every study the server lists'
    )
  const rows = await client.searchStudies(query)
  if (rows.length === 0) throw new UserError(`${client.base}: no study matches the filters`)
  return rows
}

/** `127.0.0.1:8042/dicom-web` → `127-0-0-1-8042-dicom-web`: the cache folder of a server pulled by URL. */
export function serverIdOf(base: string): string {
  const url = new URL(base)
  return `${url.host}${url.pathname}`
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48)
}

function studyTable(rows: readonly StudyRow[]): string {
  if (rows.length === 0) return 'no study\n'
  const header = [
    'Study Instance UID',
    'Patient',
    'Patient ID',
    'Date',
    'Accession',
    'Mod.',
    'Series',
    'Inst.'
  ]
  const cells = rows.map((r) => [
    r.studyUid,
    r.patientName,
    r.patientId,
    r.studyDate,
    r.accession,
    r.modalities.join('/'),
    r.series === null ? '?' : String(r.series),
    r.instances === null ? '?' : String(r.instances)
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)))
  const line = (c: string[]) =>
    c
      .map((cell, i) => cell.padEnd(widths[i]))
      .join('  ')
      .trimEnd()
  return [line(header), ...cells.map(line)].join('\n') + '\n'
}

function pullSummary(result: PacsRetrieveResult): string {
  const count = (state: string) => result.studies.filter((s) => s.state === state).length
  const lines = [
    `${result.datasetPath}: ${count('complete')} stud(ies) retrieved, ${count('skipped')} complete already, ${count('incomplete')} incomplete; ${result.instances} instance(s), ${(result.bytes / 1e6).toFixed(1)} MB`
  ]
  if (count('complete') + count('skipped') > 0)
    lines.push(
      `open it like any folder: cxr-studio eda ${result.datasetPath} (or index, quality, predict RUN DIR)`
    )
  return lines.join('\n') + '\n'
}
