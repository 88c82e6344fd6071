// The data-quality rules a report can contain: what each checks and how serious it is (the checks
// themselves live in main/core/quality).
export const QUALITY_RULES = {
  'malformed-csv-row': { severity: 'error', title: 'Malformed label CSV rows (skipped or partly used)' },
  'unreadable-file': { severity: 'error', title: 'Files that cannot be read or decoded' },
  'study-mismatch': {
    severity: 'error',
    title: "Image rows whose StudyInstanceUID is not the file's study folder"
  },
  'zero-area-box': { severity: 'error', title: 'Boxes with zero or negative width or height' },
  'box-outside-image': {
    severity: 'warning',
    title: 'Boxes reaching outside the image (DICOM rows x columns)'
  },
  'csv-row-without-file': {
    severity: 'warning',
    title: 'Image rows of train_image_level.csv without a file'
  },
  'file-without-csv-row': {
    severity: 'warning',
    title: 'Train files without a row in train_image_level.csv'
  },
  'study-row-without-images': {
    severity: 'warning',
    title: 'Study rows without any image (file or image row)'
  },
  'image-without-study-row': {
    severity: 'warning',
    title: 'Train images whose study has no row in train_study_level.csv'
  },
  'duplicate-image-id': { severity: 'warning', title: 'Several files with the same imageId' },
  'duplicate-sop-instance-uid': {
    severity: 'warning',
    title: 'Several files with the same SOP Instance UID (each listed under its own id)'
  },
  'unlabelled-duplicate': {
    severity: 'warning',
    title: 'Images without boxes in a study that has boxed images (organisers: disregard)'
  },
  'pixel-identical': { severity: 'warning', title: 'Images whose decoded pixels are identical' },
  'positive-study-without-boxes': {
    severity: 'warning',
    title: 'Positive studies (typical/indeterminate/atypical) without any box'
  },
  'positive-image-without-boxes': { severity: 'info', title: 'Images of positive studies without boxes' },
  'negative-study-with-boxes': {
    severity: 'warning',
    title: "Boxed images in a 'Negative for Pneumonia' study"
  },
  'multi-image-study': { severity: 'info', title: 'Studies holding more than one image' }
} as const satisfies Record<string, { severity: 'error' | 'warning' | 'info'; title: string }>

export type QualityRule = keyof typeof QUALITY_RULES
/** In report order (a non-empty tuple, so that the contract can make an enum of it). */
export const QUALITY_RULE_NAMES = Object.keys(QUALITY_RULES) as [QualityRule, ...QualityRule[]]
