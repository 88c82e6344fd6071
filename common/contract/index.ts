// The one contract between the renderer and the back end: every call and event, declared once.
// Electron IPC (main/electron/ipc.ts), the web host (main/host/server.ts), the preload and the
// renderer's client are all generated from these objects; nobody writes a channel name by hand.
import { z } from 'zod'
import * as s from './schemas'
import * as j from './jobs'
import * as t from './training'
import * as en from './ensembles'
import * as p from './predictions'
import * as d from './dicomweb'
import * as im from './imported'
import { TrainSettings } from '../training'

interface JsonCall<Req extends z.ZodType = z.ZodType, Res extends z.ZodType = z.ZodType> {
  kind: 'json'
  request: Req
  response: Res
}

/** A call whose answer is raw bytes (pixels) plus a small JSON header, never a JSON array of numbers. */
interface BinaryCall<Req extends z.ZodType = z.ZodType, Meta extends z.ZodType = z.ZodType> {
  kind: 'binary'
  request: Req
  meta: Meta
}

const json = <Req extends z.ZodType, Res extends z.ZodType>(
  request: Req,
  response: Res
): JsonCall<Req, Res> => ({
  kind: 'json',
  request,
  response
})
const binary = <Req extends z.ZodType, Meta extends z.ZodType>(
  request: Req,
  meta: Meta
): BinaryCall<Req, Meta> => ({
  kind: 'binary',
  request,
  meta
})

const none = z.strictObject({})
const onRun = z.strictObject({ runId: t.RunId })
const onDataset = z.strictObject({ datasetId: s.DatasetId })
const onImage = z.strictObject({ datasetId: s.DatasetId, imageId: s.ImageId })

export const calls = {
  appInfo: json(none, s.AppInfo),
  recentDatasets: json(none, z.array(s.RecentDataset)),
  forgetRecent: json(z.strictObject({ datasetId: s.DatasetId }), z.array(s.RecentDataset)),
  /** Native open-folder dialog (Electron only); null when the user cancels. */
  pickFolder: json(none, z.object({ path: z.string().nullable() })),
  /** Indexes (or reuses the cached index of) a folder and merges its labels; progress under `jobId`. */
  openDataset: json(z.strictObject({ path: s.FolderPath, jobId: s.JobId.optional() }), s.DatasetSummary),
  /** Generates the demo dataset in the workspace on first use, then opens it. */
  openDemo: json(z.strictObject({ jobId: s.JobId.optional() }), s.DatasetSummary),
  /** Every job of this back end, newest first (running, queued, and the recently ended). */
  listJobs: json(none, z.array(j.JobInfo)),
  /** A job and its kept events, for a page that (re)opens while it runs; live events follow as `jobEvent`. */
  attachJob: json(z.strictObject({ jobId: s.JobId }), j.JobHistory),
  /** Cancels a queued or running job (training stops after its step and writes checkpoints/last). */
  cancelJob: json(z.strictObject({ jobId: s.JobId }), z.object({ cancelled: z.boolean() })),
  datasetSummary: json(onDataset, s.DatasetSummary),
  listImages: json(onDataset, z.array(s.ImageRow)),
  setPolicy: json(z.strictObject({ datasetId: s.DatasetId, policy: s.FilterPolicy }), s.DatasetSummary),
  eda: json(onDataset, s.EdaReport),
  /** Label and header rules at once; `pixels` adds the pixel-identical check (decodes, progress under `jobId`). */
  quality: json(
    z.strictObject({ datasetId: s.DatasetId, pixels: z.boolean(), jobId: s.JobId.optional() }),
    s.QualityReport
  ),
  imageTags: json(onImage, z.array(s.DicomTag)),
  /** Reads a Kaggle submission CSV as the prediction layer; malformed rows come back with their line numbers. */
  loadPredictions: json(z.strictObject({ datasetId: s.DatasetId, path: s.FolderPath }), p.PredictionsSummary),
  /** Makes a stored prediction the layer (null: no layer). */
  usePredictions: json(
    z.strictObject({ datasetId: s.DatasetId, predictionId: p.PredictionId.nullable() }),
    p.PredictionsSummary.nullable()
  ),
  /** The layer's boxes, `none` score and study probabilities for one image. */
  predictions: json(onImage, p.ImagePredictions),
  /** The whole layer, compact, for sorting and filtering the studies list (layer null: none loaded). */
  predictionTable: json(onDataset, p.PredictionTable),
  /** Predicts a dataset (or one image) with a run, as a job; the result is stored in the workspace. */
  startPrediction: json(p.PredictRequest, p.PredictionStarted),
  /** Stored predictions, newest first. */
  listPredictions: json(none, z.array(p.PredictionSummary)),
  deletePrediction: json(
    z.strictObject({ predictionId: p.PredictionId }),
    z.object({ deleted: z.boolean(), path: z.string() })
  ),
  /** The competition metric of a stored prediction against its truth, with PR curves, confusion and histograms. */
  evaluatePrediction: json(
    z.strictObject({ predictionId: p.PredictionId, threshold: z.number().min(0).max(1).optional() }),
    p.Evaluation
  ),
  /** Checks an output path before an export (exists? inside a dataset?) and suggests one in the workspace. */
  checkOutput: json(
    z.strictObject({
      path: s.FolderPath.optional(),
      kind: z.enum(['file', 'folder']),
      /** The base name of the suggestion, e.g. `siim-coco` or `submission.csv`. */
      suggest: p.PredictionId
    }),
    p.OutputCheck
  ),
  /** COCO or YOLO export of a dataset, as a job. */
  exportDataset: json(p.ExportDatasetRequest, p.ExportStarted),
  /** COCO results or a validated Kaggle submission of a prediction (or of a run on a test split), as a job. */
  exportPrediction: json(p.ExportPredictionRequest, p.ExportStarted),
  /** The defaults a run would get (and why), the cores, and the settings' problems per field. */
  checkTraining: json(
    z.strictObject({ datasetId: s.DatasetId, settings: z.unknown() }),
    t.TrainingCheck
  ),
  /** Which tfjs backend `auto` (and each explicit choice) gets here, and why; probed once in a worker. */
  probeBackend: json(none, t.BackendProbe),
  /** Starts training the dataset into a new run folder of the workspace. */
  startTraining: json(
    z.strictObject({ datasetId: s.DatasetId, settings: TrainSettings, name: t.RunName.optional() }),
    t.TrainingStarted
  ),
  /** Continues a cancelled, time-limited or interrupted run from checkpoints/last. */
  resumeTraining: json(
    z.strictObject({
      runId: t.RunId,
      epochs: z.number().int().positive().optional(),
      timeLimitMinutes: z.number().positive().optional()
    }),
    t.TrainingStarted
  ),
  /** Run folders of the workspace and the ones opened by path, newest first. */
  listRuns: json(none, z.array(t.RunSummary)),
  /** Makes an ensemble run under the workspace's runs/ folder from two or more runs (main/ml/ensemble). */
  createEnsemble: json(en.CreateEnsembleRequest, t.RunSummary),
  readRun: json(onRun, t.RunDetail),
  /** Adds a run folder anywhere on disk (e.g. made by `cxr-studio train --out`) to the Runs view. */
  openRun: json(z.strictObject({ path: s.FolderPath }), t.RunSummary),
  /**
   * Makes a run of kind `imported` under the workspace's runs/ folder from an ONNX detector trained
   * elsewhere (checked against its format first); refusals come back per form field.
   */
  importModel: json(im.ImportModelRequest, im.ImportModelResult),
  /** Deletes a run folder of the workspace (forgets an opened one); refused while it trains. */
  deleteRun: json(onRun, z.object({ deleted: z.boolean(), path: z.string() })),
  /** Saved DICOMweb servers (never their passwords or tokens). */
  pacsServers: json(none, z.array(d.PacsServer)),
  /** Adds or updates a server; its password or token goes to the secret store (the OS keychain in the app). */
  pacsSaveServer: json(d.PacsServerDraft, d.PacsServer),
  /** Forgets a server and its secret; `removeCache` also deletes its retrieved studies. */
  pacsDeleteServer: json(
    z.strictObject({ serverId: d.PacsServerId, removeCache: z.boolean().optional() }),
    z.object({ deleted: z.boolean(), cacheRemoved: z.boolean() })
  ),
  /** Checks a saved server, or a draft before saving it (a draft without a secret uses the stored one). */
  pacsTest: json(
    z.strictObject({ serverId: d.PacsServerId.optional(), draft: d.PacsServerDraft.optional() }),
    d.PacsTestResult
  ),
  /** QIDO-RS study search; each row says whether the study is cached here already. */
  pacsSearch: json(z.strictObject({ serverId: d.PacsServerId, query: d.PacsQuery }), d.PacsSearchResult),
  /** The series of one study (QIDO-RS). */
  pacsSeries: json(z.strictObject({ serverId: d.PacsServerId, studyUid: d.DicomUid }), z.array(d.PacsSeries)),
  /**
   * Retrieves studies (WADO-RS) into the server's cache as a job (progress in instances, `retrieve`
   * events with bytes, cancel); open `datasetPath` with openDataset when it is done. A cancelled or
   * failed study stays unmarked (incomplete) and the next retrieve resumes it.
   */
  pacsRetrieve: json(d.PacsRetrieveRequest, d.PacsRetrieveStarted),
  /** The pulled datasets in the cache (of one server, or all) with each study's completion state. */
  pacsCache: json(z.strictObject({ serverId: d.PacsServerId.optional() }), z.array(d.PacsCachedDataset)),
  /** Stored pixels for the viewer; `prefetch` marks a neighbour loaded ahead of need (it yields to the image shown). */
  imagePixels: binary(
    z.strictObject({ datasetId: s.DatasetId, imageId: s.ImageId, prefetch: z.boolean().optional() }),
    s.DecodedImageMeta
  ),
  /** A reduced image to show at once while imagePixels comes (see ImagePreviewMeta). */
  imagePreview: binary(z.strictObject({ datasetId: s.DatasetId, imageId: s.ImageId }), s.ImagePreviewMeta),
  thumbnail: binary(
    z.strictObject({ datasetId: s.DatasetId, imageId: s.ImageId, size: z.number().int().min(16).max(512) }),
    s.ThumbnailMeta
  )
} as const

/** Back end → renderer notifications. */
export const events = {
  /** A job was created, changed state or made progress (at most every 100 ms per job). */
  job: j.JobInfo,
  /** Something a job reported (training steps, epochs, samples, log lines, its end). */
  jobEvent: j.JobEvent,
  /** Menu items and shortcuts handled by the renderer (Electron). */
  menuCommand: s.MenuCommand
} as const

export type Calls = typeof calls
export type CallName = keyof Calls
export type EventName = keyof typeof events
export type JsonCallName = { [K in CallName]: Calls[K] extends JsonCall ? K : never }[CallName]
export type BinaryCallName = { [K in CallName]: Calls[K] extends BinaryCall ? K : never }[CallName]

export interface BinaryResult<Meta> {
  meta: Meta
  /** Raw bytes; for pixels, view them with the typed array `meta.pixelFormat` names. */
  data: Uint8Array
}

export type RequestOf<K extends CallName> = z.input<Calls[K]['request']>
export type ParsedRequestOf<K extends CallName> = z.output<Calls[K]['request']>
export type ResponseOf<K extends CallName> =
  Calls[K] extends JsonCall<z.ZodType, infer Res>
    ? z.infer<Res>
    : Calls[K] extends BinaryCall<z.ZodType, infer Meta>
      ? BinaryResult<z.infer<Meta>>
      : never
export type EventOf<E extends EventName> = z.infer<(typeof events)[E]>

export const callNames = Object.keys(calls) as CallName[]
export const eventNames = Object.keys(events) as EventName[]

/** Electron IPC channel of a call or event, derived from its name. */
export const ipcChannel = (name: CallName): string => `cxr:call:${name}`
export const ipcEventChannel = (name: EventName): string => `cxr:event:${name}`
/** Web host path of a call (POST with the JSON request as body). */
export const httpPath = (name: CallName): string => `/api/call/${name}`
export const HTTP_EVENTS_PATH = '/api/events'

export function isCallName(name: string): name is CallName {
  return Object.prototype.hasOwnProperty.call(calls, name)
}

/** What travels back for every call: errors are values, because IPC and HTTP both mangle thrown errors. */
export type Envelope<T> = { ok: true; value: T } | { ok: false; error: WireError }

export interface WireError {
  message: string
  /** True for errors the user can fix (bad path, unreadable file); false for bugs. */
  user: boolean
}

export * from './schemas'
export * from './jobs'
export * from './training'
export * from './ensembles'
export * from './predictions'
export * from './dicomweb'
export * from './imported'
