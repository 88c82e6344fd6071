// Runtime schemas of every payload that crosses the renderer / back-end boundary.
// Plain zod, no Node or DOM APIs: main, preload, the web host and the renderer all import it.
import { z } from 'zod'
import { STUDY_CLASSES } from '../domain'
import { FILTER_POLICIES } from '../dataset'
import { QUALITY_RULE_NAMES } from '../quality'

/** Key of an opened dataset: the first 16 hex chars of sha1(real path), as in the workspace cache. */
export const DatasetId = z.string().regex(/^[0-9a-f]{16}$/, 'a dataset id is 16 hex characters')

/** Kaggle ids are 12 hex chars, other folders use UIDs or file names; only ever a lookup key, never a path. */
export const ImageId = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[^\u0000-\u001f/\\]+$/, 'not an image id')

/** A folder typed by the user; the back end also checks it exists and is a readable folder. */
export const FolderPath = z
  .string()
  .min(1, 'the folder path is empty')
  .max(4096, 'the folder path is too long')
  .refine((path) => !path.includes('\0'), 'the folder path contains a NUL character')

export const JobId = z.string().regex(/^[0-9A-Za-z-]{1,64}$/)

export const StudyClass = z.enum(STUDY_CLASSES)
export const FilterPolicy = z.enum(FILTER_POLICIES)
export const Split = z.enum(['train', 'test'])

export const OpacityBox = z.object({
  x: z.number(),
  y: z.number(),
  width: z.number(),
  height: z.number()
})

export const AppInfo = z.object({
  version: z.string(),
  host: z.enum(['electron', 'web']),
  workspace: z.string(),
  platform: z.string(),
  /** True in Electron, where a native open-folder dialog exists. */
  nativeDialog: z.boolean()
})

export const RecentDataset = z.object({
  datasetId: DatasetId,
  root: z.string(),
  name: z.string(),
  openedAt: z.number(),
  images: z.number().int().nonnegative()
})

export const DatasetSummary = z.object({
  datasetId: DatasetId,
  root: z.string(),
  name: z.string(),
  kaggleLayout: z.boolean(),
  studies: z.number().int().nonnegative(),
  images: z.number().int().nonnegative(),
  trainImages: z.number().int().nonnegative(),
  testImages: z.number().int().nonnegative(),
  imagesWithBoxes: z.number().int().nonnegative(),
  fileErrors: z.number().int().nonnegative(),
  labelErrors: z.number().int().nonnegative(),
  policy: FilterPolicy
})

/** One line of the studies list: everything the list, its filters and the viewer's overlay need. */
export const ImageRow = z.object({
  imageId: ImageId,
  studyId: z.string(),
  seriesId: z.string(),
  split: Split,
  /** Path relative to the dataset root, or null when a CSV row names a missing file. */
  path: z.string().nullable(),
  rows: z.number().int().nullable(),
  columns: z.number().int().nullable(),
  bitsStored: z.number().int().nullable(),
  photometric: z.string().nullable(),
  transferSyntaxUid: z.string().nullable(),
  /** The study's class: train_study_level.csv, or test_study_level.csv for a test image when the folder has it. */
  studyLabel: StudyClass.nullable(),
  /**
   * True when the image has ground truth: a row in train_image_level.csv, or for a test image a row
   * in test_image_level.csv (the held-out truth some folders, e.g. the demo, keep beside test/).
   */
  labelled: z.boolean(),
  boxes: z.array(OpacityBox),
  /**
   * Images of its study as the dataset counts them (files and CSV rows, as the multi-image-study
   * rule does); null for an unreadable file, which belongs to no study's image list.
   */
  studyImages: z.number().int().nonnegative().nullable(),
  /** Quality findings on this image (short codes, e.g. `duplicate-unlabelled`). */
  flags: z.array(z.string()),
  /** True when the active filter policy drops the image from exports and training. */
  excluded: z.boolean(),
  /** Why the file cannot be read, or null. */
  error: z.string().nullable()
})

export const DicomTag = z.object({
  /** `(gggg,eeee)` */
  tag: z.string(),
  name: z.string(),
  vr: z.string(),
  value: z.string(),
  /** Nesting level inside sequences (0 = top level). */
  depth: z.number().int().nonnegative()
})

const Histogram = z.record(z.string(), z.number())

/** The JSON of `cxr-studio eda --json`; extra keys the EDA service adds pass through. */
export const EdaReport = z.looseObject({
  studies: z.looseObject({
    total: z.number(),
    negative: z.number(),
    typical: z.number(),
    indeterminate: z.number(),
    atypical: z.number()
  }),
  images: z.looseObject({ total: z.number(), withBoxes: z.number(), withoutBoxes: z.number() }),
  boxes: z.looseObject({ total: z.number() }),
  boxesPerImage: z.record(z.string(), Histogram.optional()),
  imagesPerStudy: Histogram,
  positivesWithoutBoxes: z.looseObject({ images: z.number(), studies: z.number() }),
  files: z
    .looseObject({ total: z.number(), train: z.number(), test: z.number(), unreadable: z.number() })
    .optional(),
  imageSize: z.looseObject({ rowsHistogram: Histogram, columnsHistogram: Histogram }).optional(),
  bitsStored: Histogram.optional(),
  photometric: Histogram.optional(),
  transferSyntax: z.array(z.object({ uid: z.string(), name: z.string(), count: z.number() })).optional()
})

export const Severity = z.enum(['error', 'warning', 'info'])

/** One finding of the quality report (the rules live in main/core/quality). */
export const QualityRule = z.enum(QUALITY_RULE_NAMES)

export const QualityIssue = z.object({
  rule: QualityRule,
  severity: Severity,
  message: z.string(),
  imageId: z.string().optional(),
  studyId: z.string().optional(),
  /** Path relative to the dataset root (the DICOM file, or the CSV for malformed rows). */
  path: z.string().optional()
})

export const PolicyEffect = z.object({
  kept: z.number().int().nonnegative(),
  dropped: z.array(
    z.object({ imageId: z.string(), studyId: z.string(), path: z.string().nullable(), reason: z.string() })
  )
})

export const QualityReport = z.object({
  policy: FilterPolicy,
  issues: z.array(QualityIssue),
  counts: z.record(z.string(), z.number()),
  bySeverity: z.record(Severity, z.number()),
  /** Every rule with its severity and title, in report order (for headings). */
  rules: z.array(z.object({ rule: QualityRule, severity: Severity, title: z.string() })),
  /** What each policy keeps and drops, and in words what it does. */
  policies: z.record(FilterPolicy, PolicyEffect.extend({ description: z.string() })),
  pixelCheck: z.object({
    ran: z.boolean(),
    candidates: z.number(),
    decoded: z.number(),
    cached: z.number(),
    identicalGroups: z.number()
  })
})

export const Prediction = z.object({
  label: z.string(),
  score: z.number(),
  x: z.number(),
  y: z.number(),
  width: z.number(),
  height: z.number()
})

/** Stored pixel values travel as raw bytes; this says how to view them. */
export const PixelFormat = z.enum(['uint8', 'int8', 'uint16', 'int16', 'uint32', 'int32', 'float32'])

export const VoiWindow = z.object({ center: z.number(), width: z.number().positive() })

export const DecodedImageMeta = z.object({
  imageId: ImageId,
  rows: z.number().int().positive(),
  columns: z.number().int().positive(),
  bitsAllocated: z.number().int(),
  bitsStored: z.number().int(),
  pixelRepresentation: z.number().int(),
  photometric: z.string(),
  transferSyntaxUid: z.string(),
  transferSyntaxName: z.string(),
  rescaleSlope: z.number(),
  rescaleIntercept: z.number(),
  /** The file's own VOI windows (modality units), possibly empty. */
  fileWindows: z.array(VoiWindow),
  /** Robust 0.5–99.5 percentile window (modality units). */
  autoWindow: VoiWindow,
  /** VOI LUT from the file, when it has one (applied instead of a window). */
  voiLut: z
    .object({ firstValueMapped: z.number(), numBitsPerEntry: z.number().int(), lut: z.array(z.number()) })
    .nullable(),
  minPixelValue: z.number(),
  maxPixelValue: z.number(),
  pixelFormat: PixelFormat,
  decodeMs: z.number()
})

/**
 * The viewer's first pixels: a reduced image (rows × columns are its own) drawn over the full image's
 * rectangle until the full pixels arrive; null when the full image is as quick (small, or decoded).
 */
export const ImagePreviewMeta = z.object({
  preview: DecodedImageMeta.extend({
    fullRows: z.number().int().positive(),
    fullColumns: z.number().int().positive(),
    /** Full-image pixels per preview pixel. */
    factor: z.number().int().positive(),
    /** Preview pixel i stands for full pixels [i·factor + origin, (i+1)·factor + origin). */
    origin: z.number(),
    /** 'resolution-level': a JPEG 2000 wavelet level; 'downsampled': sampled from the full decode. */
    method: z.enum(['resolution-level', 'downsampled']),
    /** Range and auto window are the full image's own (else the reduced image's, close to them). */
    fullStats: z.boolean()
  }).nullable()
})

/** 8-bit grey thumbnail after VOI and MONOCHROME1 inversion, row-major. */
export const ThumbnailMeta = z.object({
  width: z.number().int().positive(),
  height: z.number().int().positive()
})

/** Progress of a long operation: bars in the CLI, in the job bar and dashboards of the UI. */
export const Progress = z.object({ stage: z.string(), done: z.number(), total: z.number() })

export const JobProgress = Progress.extend({ jobId: JobId })

export const MENU_COMMANDS = [
  'open-folder',
  'open-demo',
  'go-home',
  'go-studies',
  'go-data',
  'go-train',
  'go-runs',
  'go-predictions',
  'go-export',
  'go-pacs',
  'show-shortcuts'
] as const
export const MenuCommand = z.object({ command: z.enum(MENU_COMMANDS), path: z.string().optional() })

export type OpacityBox = z.infer<typeof OpacityBox>
export type FilterPolicy = z.infer<typeof FilterPolicy>
export type StudyClass = z.infer<typeof StudyClass>
export type Split = z.infer<typeof Split>
export type Severity = z.infer<typeof Severity>
export type AppInfo = z.infer<typeof AppInfo>
export type RecentDataset = z.infer<typeof RecentDataset>
export type DatasetSummary = z.infer<typeof DatasetSummary>
export type ImageRow = z.infer<typeof ImageRow>
export type DicomTag = z.infer<typeof DicomTag>
export type EdaReport = z.infer<typeof EdaReport>
export type QualityIssue = z.infer<typeof QualityIssue>
export type QualityReport = z.infer<typeof QualityReport>
export type Prediction = z.infer<typeof Prediction>
export type PixelFormat = z.infer<typeof PixelFormat>
export type VoiWindow = z.infer<typeof VoiWindow>
export type DecodedImageMeta = z.infer<typeof DecodedImageMeta>
export type ImagePreviewMeta = z.infer<typeof ImagePreviewMeta>
export type ThumbnailMeta = z.infer<typeof ThumbnailMeta>
export type Progress = z.infer<typeof Progress>
export type JobProgress = z.infer<typeof JobProgress>
export type MenuCommand = z.infer<typeof MenuCommand>
