// Which images the quality findings flag: the studies list's "flagged" is built from this.
import { describe, expect, it } from 'vitest'
import { imageFindings, type QualityIssue } from '../../main/core/quality'

const found = (rule: QualityIssue['rule'], at: Partial<QualityIssue>): QualityIssue => ({
  rule,
  severity: 'warning',
  message: rule,
  ...at
})

describe('image findings', () => {
  it('flags files by path and CSV rows without a file by imageId, each rule once and in rule order', () => {
    const findings = imageFindings([
      found('pixel-identical', { imageId: 'a', path: 'train/S/r/a.dcm' }),
      found('unlabelled-duplicate', { imageId: 'a', path: 'train/S/r/a.dcm' }),
      found('pixel-identical', { imageId: 'a', path: 'train/S/r/a.dcm' }),
      found('unreadable-file', { path: 'stray.dcm' }),
      found('csv-row-without-file', { imageId: 'gone', studyId: 'S' })
    ])
    expect(findings.byPath.get('train/S/r/a.dcm')).toEqual(['unlabelled-duplicate', 'pixel-identical'])
    expect(findings.byPath.get('stray.dcm')).toEqual(['unreadable-file'])
    expect(findings.byImageId.get('gone')).toEqual(['csv-row-without-file'])
    expect(findings.byImageId.has('a')).toBe(false)
  })

  it('flags no image for a finding about a whole study', () => {
    const findings = imageFindings([found('multi-image-study', { studyId: 'S' })])
    expect(findings.byPath.size + findings.byImageId.size).toBe(0)
  })
})
