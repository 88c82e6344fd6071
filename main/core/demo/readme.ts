// README.txt of a demo folder. Its first line also marks the folder as a demo that may be rewritten.
import { STUDY_CLASSES } from '../../../common/domain'
import { HARD_CLASS_SHARES, PATTERN_PROBABILITIES } from './hard-plan'
import type { DemoSummary } from './index'

export const DEMO_README = 'README.txt'
export const DEMO_README_TITLE = 'CXR Studio synthetic demo dataset'

export function demoReadme(summary: DemoSummary): string {
  const { train, test } = summary.splits
  const q = summary.quirks
  const list = (items: string[]) => (items.length ? items.join('; ') : 'none in this demo (too few studies)')
  const title = summary.hard ? `${DEMO_README_TITLE} - hard variant` : DEMO_README_TITLE
  return `${title}
${'='.repeat(title.length)}

Written by \`cxr-studio demo${summary.hard ? ' --hard' : ''}\` with seed ${summary.seed}; the same seed and counts give the same bytes.
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

${summary.hard ? hardClassesSection(summary) : DEFAULT_CLASSES}Pixel formats and transfer syntaxes are mixed on purpose: 16-bit (10, 12 or 16 bits stored) and
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

const DEFAULT_CLASSES = `What the classes look like (so that a small detector can learn them)
  negative        no opacity
  typical         bilateral, peripheral, lower-zone patchy opacities (2-3 boxes)
  indeterminate   unilateral mid-zone or central (perihilar) patchy opacities (1-2 boxes)
  atypical        one dense, homogeneous, lobar opacity in an upper or mid zone (1 box)
Opacities are drawn strictly inside their boxes; box coordinates are original pixels.

`

/** The hard demo's rules, with the probabilities hard-plan.ts draws from and what this folder holds. */
function hardClassesSection(summary: DemoSummary): string {
  const patterns = summary.hard!.patterns
  const perClass = STUDY_CLASSES.map((studyClass) => {
    const rules = Object.entries(PATTERN_PROBABILITIES[studyClass])
      .map(([pattern, p]) => `${pattern} ${p}`)
      .join(', ')
    const drawn = (['train', 'test'] as const)
      .map((split) => {
        const counts = Object.entries(patterns[split][studyClass]).map(([pattern, n]) => `${pattern} ${n}`)
        return `${split}: ${counts.join(', ') || 'no study'}`
      })
      .join('; ')
    return `  ${studyClass.padEnd(14)} share ${HARD_CLASS_SHARES[studyClass].toFixed(3)}; ${rules}\n${' '.repeat(18)}drawn here - ${drawn}`
  })
  return `What the classes look like: told apart by WHERE and HOW MANY faint opacities there are
Each study draws a location pattern with these probabilities (share = the class's share of the
studies, as in the real train set, with at least min(8, n/8) studies per class):
${perClass.join('\n')}
Patterns: bilateral-peripheral = 2-4 opacities in both lungs near the chest wall; unilateral-peripheral
= 2-3 in one lung; single-peripheral / single-central = one opacity; central = 2 perihilar opacities
(both lungs 0.4, else one); central+peripheral = one perihilar and 1-2 peripheral ones.
Peripheral = the outer 30% of a lung's width (typical: 15% of them in its middle), in the lower
zone for typical studies (0.75) and anywhere for the others; central = the inner 30% around the hilum.
The same pattern comes from more than one class (single-peripheral: typical or indeterminate;
single-central: atypical or indeterminate; central+peripheral: all three), so some studies are
ambiguous by rule and no classifier can be perfect.
Opacities are faint ground glass (peak density 0.08-0.16 above the lung, soft edges, 7-13% of the
width) against stronger, density-dependent, slightly correlated noise (sigma 0.024-0.04, the default
demo 0.012) and a tissue texture. Patients vary (lung size and position, mediastinum and heart
width, diaphragm height, body width, rotation up to 4 degrees) and so do exposures (response curve
gamma 0.8-1.25, stored range, heel tilt, VOI window). Breast shadows (0.6 of female patients) and
nipple shadows (0.25 of patients) are drawn but never boxed, on negatives too.
Opacities are drawn strictly inside their boxes; box coordinates are original pixels.
Images are 544-720 px wide and 512-768 px high.

`
}
