// README.txt of a demo folder. Its first line also marks the folder as a demo that may be rewritten.
import type { DemoSummary } from './index'

export const DEMO_README = 'README.txt'
export const DEMO_README_TITLE = 'CXR Studio synthetic demo dataset'

export function demoReadme(summary: DemoSummary): string {
  const { train, test } = summary.splits
  const q = summary.quirks
  const list = (items: string[]) => (items.length ? items.join('; ') : 'none in this demo (too few studies)')
  return `${DEMO_README_TITLE}
${'='.repeat(DEMO_README_TITLE.length)}

Written by \`cxr-studio demo\` with seed ${summary.seed}; the same seed and counts give the same bytes.
Every image is synthetic (no patient data). \`cxr-studio demo\` may overwrite this folder again.

Layout (the SIIM-FISABIO-RSNA COVID-19 Kaggle layout)
  train/<study>/<series>/<image>.dcm   studies: ${train.studies}, images: ${train.images}, boxes: ${train.boxes}
  test/<study>/<series>/<image>.dcm    studies: ${test.studies}, images: ${test.images}
  train_study_level.csv     id,Negative for Pneumonia,Typical Appearance,Indeterminate Appearance,Atypical Appearance
  train_image_level.csv     id,boxes,label,StudyInstanceUID
  sample_submission.csv     id,PredictionString for test/: all study rows, then all image rows

Extra files, not in the Kaggle download:
  test_study_level.csv      the held-out truth of test/, same format as train_study_level.csv
  test_image_level.csv      the held-out truth of test/, same format as train_image_level.csv
  README.txt                this file
Score predictions on test/ against these two files; never train on them.

Ids are 12 lowercase hex characters. Inside the DICOM files the UIDs are valid DICOM UIDs made from
the ids: StudyInstanceUID, SeriesInstanceUID and SOPInstanceUID are "2.25." followed by the id read
as a hexadecimal number in decimal (e.g. id 00000000002a -> 2.25.42); PatientID is a 12-hex id.

What the classes look like (so that a small detector can learn them)
  negative        no opacity
  typical         bilateral, peripheral, lower-zone patchy opacities (2-3 boxes)
  indeterminate   unilateral mid-zone or central (perihilar) patchy opacities (1-2 boxes)
  atypical        one dense, homogeneous, lobar opacity in an upper or mid zone (1 box)
Opacities are drawn strictly inside their boxes; box coordinates are original pixels.

Pixel formats and transfer syntaxes are mixed on purpose: 16-bit (10, 12 or 16 bits stored) and
8-bit, MONOCHROME1 (inverted values that look the same after VOI and inversion) and MONOCHROME2,
with and without WindowCenter/Width and RescaleSlope/Intercept; transfer syntaxes used:
  ${Object.entries(summary.transferSyntaxes)
    .map(([syntax, count]) => `${syntax} ${count}`)
    .join(', ')}

Quirks of the real data, reproduced here
  duplicate image (pixel-identical copy in another series, labelled none 1 0 0 1 1):
    ${list(q.duplicates.map((d) => `${d.split} study ${d.studyId}: ${d.duplicateImageId} copies boxed ${d.boxedImageId}`))}
  positive study whose image has opacities but no box (incompletely labelled):
    ${list(q.positiveWithoutBoxes.map((p) => `${p.split} ${p.studyClass} study ${p.studyId}, image ${p.imageId}`))}
  studies with several images (keep the boxed ones, as the organisers advise):
    ${list(q.multiImageStudies.map((m) => `${m.split} study ${m.studyId}: ${m.imageIds.join(', ')}`))}
`
}
