// Wire schemas of the DICOMweb source (a PACS): saved servers (never their secrets), a connection
// check, QIDO-RS study search, the series of a study, WADO-RS retrieval into the workspace's cache
// as a job, and the cached studies with their completion state. The pulled folder is a Kaggle-style
// tree that the ordinary openDataset call opens.
import { z } from 'zod'
import { FolderPath, JobId } from './schemas'

/** A saved server's key: also its cache folder's name under `<workspace>/pacs/`. */
export const PacsServerId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,47}$/, 'a server id is 1-48 lower-case letters, digits and dashes')

/**
 * A Study/Series/SOP Instance UID as the server gives it: digits and dots, or (anonymised sets such as
 * the Kaggle one) hex ids. Only ever a lookup key and a folder name, so no slash and no leading dot.
 */
export const DicomUid = z.string().regex(/^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$/, 'not a DICOM UID')

export const PACS_AUTH_KINDS = ['none', 'basic', 'bearer'] as const
export const PacsAuthKind = z.enum(PACS_AUTH_KINDS)

/** The DICOMweb root, e.g. `http://pacs.example:8042/dicom-web` (QIDO-RS and WADO-RS under it). */
export const PacsUrl = z
  .string()
  .max(2048)
  .refine((url) => /^https?:\/\/[^\s/]+/i.test(url), 'type an http:// or https:// URL')
  .refine(
    (url) => !/^https?:\/\/[^/]*@/i.test(url),
    'put the user name and password in the auth fields, not the URL'
  )

/** A saved server as the renderer sees it: never its password or token, only whether one is stored. */
export const PacsServer = z.object({
  id: PacsServerId,
  name: z.string(),
  url: z.string(),
  auth: PacsAuthKind,
  /** The basic-auth user name (not a secret), or null. */
  user: z.string().nullable(),
  /** True when a password (basic) or token (bearer) is stored for it. */
  hasSecret: z.boolean(),
  /** Per-request timeout. */
  timeoutSeconds: z.number().positive(),
  /** Where its retrieved studies are cached (`<workspace>/pacs/<id>/`). */
  cacheDir: z.string()
})

/** A server to save or check. A missing password/token keeps the one stored for `id`. */
export const PacsServerDraft = z.strictObject({
  /** Omitted for a new server (an id is made from the name). */
  id: PacsServerId.optional(),
  name: z.string().trim().min(1, 'name the server').max(100),
  url: PacsUrl,
  auth: z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('none') }),
    z.strictObject({
      kind: z.literal('basic'),
      user: z.string().min(1, 'type the user name').max(256),
      password: z.string().max(4096).optional()
    }),
    z.strictObject({ kind: z.literal('bearer'), token: z.string().min(1).max(16384).optional() })
  ]),
  timeoutSeconds: z.number().positive().max(3600).optional()
})

export const PacsTestResult = z.object({
  ok: z.boolean(),
  /** `answered in 35 ms; 12 studies visible` or the reason it failed (names the URL, never the secret). */
  message: z.string(),
  elapsedMs: z.number()
})

/** QIDO-RS study filters; dates `YYYYMMDD` or a range `YYYYMMDD-YYYYMMDD` (either end may be open). */
export const PacsQuery = z.strictObject({
  patientName: z.string().max(256).optional(),
  patientId: z.string().max(256).optional(),
  studyDate: z
    .string()
    .regex(/^(\d{8})?(-(\d{8})?)?$/, 'a study date is YYYYMMDD or YYYYMMDD-YYYYMMDD')
    .optional(),
  modality: z
    .string()
    .regex(/^[A-Z0-9]{1,16}$/, 'a modality is a code such as CR or DX')
    .optional(),
  accession: z.string().max(64).optional(),
  studyUid: DicomUid.optional(),
  limit: z.number().int().positive().max(1000).optional(),
  offset: z.number().int().nonnegative().optional()
})

export const CACHE_STATES = ['complete', 'incomplete'] as const
export const CacheState = z.enum(CACHE_STATES)

/** One study of a search: the QIDO-RS attributes, and whether it is cached here already. */
export const PacsStudy = z.object({
  studyUid: DicomUid,
  patientName: z.string(),
  patientId: z.string(),
  /** YYYYMMDD as the server has it, or ''. */
  studyDate: z.string(),
  accession: z.string(),
  modalities: z.array(z.string()),
  description: z.string(),
  series: z.number().int().nonnegative().nullable(),
  instances: z.number().int().nonnegative().nullable(),
  /** In this server's cache: complete, incomplete (interrupted; a retrieve resumes it), or null. */
  cached: CacheState.nullable()
})

export const PacsSearchResult = z.object({
  studies: z.array(PacsStudy),
  /** True when the server returned `limit` rows (ask with a larger offset for more). */
  more: z.boolean()
})

export const PacsSeries = z.object({
  seriesUid: DicomUid,
  modality: z.string(),
  number: z.number().int().nullable(),
  description: z.string(),
  instances: z.number().int().nonnegative().nullable()
})

/** A cache folder name under the server's cache (the pulled dataset's name). */
export const PacsDatasetName = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
    'a dataset name is letters, digits, dots, dashes and underscores'
  )

export const PacsRetrieveRequest = z.strictObject({
  serverId: PacsServerId,
  studyUids: z.array(DicomUid).min(1).max(1000),
  /** The pulled dataset's folder name under the server's cache; `studies` by default. */
  dataset: PacsDatasetName.optional(),
  /** Fetch again studies that are complete in the cache already (skipped otherwise). */
  refresh: z.boolean().optional(),
  /**
   * Label CSVs to copy next to the tree (as train_study_level.csv / train_image_level.csv) so the
   * pulled folder opens with labels; their ids are the studies' and images' UIDs.
   */
  studyLabels: FolderPath.optional(),
  imageLabels: FolderPath.optional(),
  jobId: JobId.optional()
})

/** What openDataset opens once the job is done (a Kaggle-style tree: `test/<study>/<series>/<sop>.dcm`). */
export const PacsRetrieveStarted = z.object({ jobId: JobId, datasetPath: z.string() })

export const RETRIEVED_STATES = ['complete', 'skipped', 'incomplete'] as const

export const RetrievedStudy = z.object({
  studyUid: DicomUid,
  /** complete: all instances here and marked; skipped: complete in the cache already; incomplete: failed or cancelled. */
  state: z.enum(RETRIEVED_STATES),
  /** Instances the server reported for the study (null when it did not say). */
  expected: z.number().int().nonnegative().nullable(),
  received: z.number().int().nonnegative(),
  bytes: z.number().nonnegative(),
  /** Why it is incomplete (names the URL and the reason), or null. */
  error: z.string().nullable()
})

/** A retrieve job's result (also what `cxr-studio pull --json` prints). */
export const PacsRetrieveResult = z.object({
  datasetPath: z.string(),
  studies: z.array(RetrievedStudy),
  instances: z.number().int().nonnegative(),
  bytes: z.number().nonnegative()
})

/** The `retrieve` job event: where a retrieve is, in instances and bytes (also the job's Progress). */
export const RetrieveProgressEvent = z.object({
  studyUid: DicomUid,
  /** 1-based index of the study being retrieved, of `studies`. */
  study: z.number().int().positive(),
  studies: z.number().int().positive(),
  instancesDone: z.number().int().nonnegative(),
  /** Sum of the instances the server reported for all requested studies (null when it did not say). */
  instancesTotal: z.number().int().nonnegative().nullable(),
  bytes: z.number().nonnegative()
})

export const CachedStudy = z.object({
  studyUid: DicomUid,
  state: CacheState,
  expected: z.number().int().nonnegative().nullable(),
  received: z.number().int().nonnegative(),
  completedAt: z.number().nullable()
})

/** A pulled dataset in a server's cache: its folder (open it with openDataset) and its studies. */
export const PacsCachedDataset = z.object({
  serverId: PacsServerId,
  name: z.string(),
  path: z.string(),
  studies: z.array(CachedStudy),
  /** Label CSVs copied next to the tree, by file name. */
  labelFiles: z.array(z.string())
})

export type PacsServerId = z.infer<typeof PacsServerId>
export type PacsAuthKind = z.infer<typeof PacsAuthKind>
export type PacsServer = z.infer<typeof PacsServer>
export type PacsServerDraft = z.infer<typeof PacsServerDraft>
export type PacsTestResult = z.infer<typeof PacsTestResult>
export type PacsQuery = z.infer<typeof PacsQuery>
export type PacsStudy = z.infer<typeof PacsStudy>
export type PacsSearchResult = z.infer<typeof PacsSearchResult>
export type PacsSeries = z.infer<typeof PacsSeries>
export type PacsRetrieveRequest = z.infer<typeof PacsRetrieveRequest>
export type PacsRetrieveStarted = z.infer<typeof PacsRetrieveStarted>
export type RetrievedStudy = z.infer<typeof RetrievedStudy>
export type PacsRetrieveResult = z.infer<typeof PacsRetrieveResult>
export type RetrieveProgressEvent = z.infer<typeof RetrieveProgressEvent>
export type CachedStudy = z.infer<typeof CachedStudy>
export type CacheState = z.infer<typeof CacheState>
export type PacsCachedDataset = z.infer<typeof PacsCachedDataset>
