// A DICOMweb client in plain Node: QIDO-RS search of studies and series, WADO-RS retrieval of a
// study or series as a stream of instances. No Electron, no browser: the back end and the CLI use it.
import type { PacsQuery, PacsSeries } from '../../../common/contract'
import { UserError } from '../errors'
import { DicomwebError, open, type DicomwebAuth, type OpenResponse } from './http'
import { parseDatasets, seriesRow, studyRow, TAGS, type StudyRow } from './json-model'
import { MultipartReader, parseContentType, type PartHeaders, type PartSink } from './multipart'

export interface DicomwebClientOptions {
  /** The DICOMweb root, e.g. `http://127.0.0.1:8042/dicom-web`. */
  url: string
  auth?: DicomwebAuth
  /** Longest wait for an answer or for the next bytes of one; 30 s by default. */
  timeoutMs?: number
}

export interface RetrieveHandler {
  /** An instance begins (its part headers); return where its bytes go. */
  instance(headers: PartHeaders, index: number): PartSink | Promise<PartSink>
}

/** Attributes asked for in every study search (Orthanc returns only the required ones otherwise). */
const STUDY_FIELDS = [
  TAGS.studyDescription,
  TAGS.modalitiesInStudy,
  TAGS.seriesCount,
  TAGS.instanceCount,
  TAGS.accession
]
const SERIES_FIELDS = [TAGS.seriesDescription, TAGS.seriesNumber, TAGS.seriesInstances, TAGS.modality]

export const DEFAULT_TIMEOUT_MS = 30_000

export class DicomwebClient {
  readonly base: string
  private readonly auth: DicomwebAuth
  private readonly timeoutMs: number

  constructor(options: DicomwebClientOptions) {
    this.base = normaliseBase(options.url)
    this.auth = options.auth ?? { kind: 'none' }
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  }

  /** QIDO-RS `GET {base}/studies?…`: the matching studies, in the server's order. */
  async searchStudies(query: PacsQuery, signal?: AbortSignal): Promise<StudyRow[]> {
    const params: Array<[string, string]> = []
    const set = (key: string, value: string | number | undefined) => {
      if (value !== undefined && value !== '') params.push([key, String(value)])
    }
    set('PatientName', query.patientName)
    set('PatientID', query.patientId)
    set('StudyDate', query.studyDate)
    set('ModalitiesInStudy', query.modality)
    set('AccessionNumber', query.accession)
    set('StudyInstanceUID', query.studyUid)
    set('limit', query.limit)
    set('offset', query.offset)
    for (const field of STUDY_FIELDS) params.push(['includefield', field])
    const url = `${this.base}/studies?${queryString(params)}`
    const datasets = await this.json(url, signal)
    return datasets.map(studyRow).filter((row): row is StudyRow => row !== null)
  }

  /** QIDO-RS `GET {base}/studies/{uid}/series`. */
  async studySeries(studyUid: string, signal?: AbortSignal): Promise<PacsSeries[]> {
    const params = SERIES_FIELDS.map((field): [string, string] => ['includefield', field])
    const url = `${this.base}/studies/${encodeURIComponent(studyUid)}/series?${queryString(params)}`
    const datasets = await this.json(url, signal)
    return datasets.map(seriesRow).filter((row): row is PacsSeries => row !== null)
  }

  /** One study's row (its instance count), or null when the server does not know it. */
  async study(studyUid: string, signal?: AbortSignal): Promise<StudyRow | null> {
    const rows = await this.searchStudies({ studyUid, limit: 2 }, signal)
    return rows.find((row) => row.studyUid === studyUid) ?? null
  }

  /**
   * WADO-RS `GET {base}/studies/{uid}[/series/{uid}]` as `multipart/related; type="application/dicom"`:
   * each instance streams to the sink `handler` gives for it. Returns the number of instances; throws
   * a DicomwebError for a wrong content type, an HTTP error, a timeout, a cut connection or a body
   * that ends inside an instance (the sink of an unfinished instance never gets `end()`).
   */
  async retrieve(
    target: { studyUid: string; seriesUid?: string },
    handler: RetrieveHandler,
    signal?: AbortSignal
  ): Promise<number> {
    let url = `${this.base}/studies/${encodeURIComponent(target.studyUid)}`
    if (target.seriesUid) url += `/series/${encodeURIComponent(target.seriesUid)}`
    // transfer-syntax=*: the files as stored (byte-identical; no transcoding, which Orthanc 1.10
    // cannot do for JPEG 2000 or JPEG-LS and then cuts the response in the middle of that instance)
    const response = await this.open(
      url,
      'multipart/related; type="application/dicom"; transfer-syntax=*',
      signal
    )
    const { type, params } = parseContentType(response.contentType)
    if (type !== 'multipart/related' || !params.boundary) {
      response.cancel()
      throw new DicomwebError(
        url,
        `expected multipart/related DICOM instances, got ${response.contentType || 'no content type'}`
      )
    }
    if (params.type && params.type.toLowerCase() !== 'application/dicom') {
      response.cancel()
      throw new DicomwebError(url, `expected application/dicom parts, got ${params.type}`)
    }
    const reader = new MultipartReader(params.boundary, { part: (h, i) => handler.instance(h, i) }, url)
    try {
      for await (const chunk of response.chunks()) await reader.write(chunk)
      await reader.finish()
    } catch (err) {
      response.cancel()
      if (err instanceof DicomwebError) throw err
      // a malformed body or a sink's error (disk full): said once, with the URL
      const message = err instanceof Error ? err.message : String(err)
      throw new DicomwebError(url, message.startsWith(url) ? message.slice(url.length + 2) : message)
    }
    return reader.parts
  }

  private async json(url: string, signal?: AbortSignal) {
    const response = await this.open(url, 'application/dicom+json', signal)
    const { type } = parseContentType(response.contentType)
    if (response.status === 204) {
      response.cancel()
      return []
    }
    if (type && !type.includes('json')) {
      response.cancel()
      throw new DicomwebError(
        url,
        `expected DICOM JSON, got ${response.contentType} (is this a DICOMweb root?)`
      )
    }
    return parseDatasets(await response.text(), url)
  }

  private open(url: string, accept: string, signal?: AbortSignal): Promise<OpenResponse> {
    return open(url, accept, { auth: this.auth, timeoutMs: this.timeoutMs, signal })
  }
}

/** The URL without a trailing slash; credentials in it are refused (they would show in messages). */
export function normaliseBase(url: string): string {
  let parsed: URL
  try {
    parsed = new URL(url.trim())
  } catch {
    throw new UserError(`${url}: not a URL (type e.g. http://pacs.example:8042/dicom-web)`)
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new UserError(`${url}: a DICOMweb URL starts with http:// or https://`)
  if (parsed.username || parsed.password)
    throw new UserError(`${parsed.host}: put the user name and password in the auth options, not in the URL`)
  parsed.search = ''
  parsed.hash = ''
  return parsed.toString().replace(/\/+$/, '')
}

/**
 * `key=value&…` with only what must be escaped escaped: QIDO-RS values carry `^` (PN components),
 * `*` and `?` (wildcards), and Orthanc 1.10 matches its query arguments undecoded, so `DEMO%5E*`
 * (URLSearchParams' form) finds nothing where `DEMO^*` finds the patient. These characters are legal
 * in a URL's query as they are.
 */
export function queryString(params: ReadonlyArray<readonly [string, string]>): string {
  const encode = (text: string) =>
    encodeURIComponent(text).replace(/%(5E|2A|3F|2C|3A|40|24|21|27|28|29|3B|2F)/gi, (_, hex: string) =>
      String.fromCharCode(parseInt(hex, 16))
    )
  return params.map(([key, value]) => `${encode(key)}=${encode(value)}`).join('&')
}
