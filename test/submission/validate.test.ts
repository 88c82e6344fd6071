import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  hasErrors,
  validateSubmission,
  writeSubmission,
  formatSubmission
} from '../../main/core/submission/validate'
import type { SubmissionRow } from '../../main/core/submission/submission-csv'

const SAMPLE =
  [
    'id,PredictionString',
    'aa_study,negative 1 0 0 1 1',
    'bb_study,negative 1 0 0 1 1',
    'xx_image,none 1 0 0 1 1',
    'yy_image,none 1 0 0 1 1'
  ].join('\n') + '\n'

function submission(...lines: string[]): string {
  return ['id,PredictionString', ...lines].join('\n') + '\n'
}

const GOOD = [
  'aa_study,negative 0.2 0 0 1 1 typical 0.8 0 0 1 1',
  'bb_study,atypical 0.5 0 0 1 1',
  'xx_image,opacity 0.6 10 20 300 400 none 0.4 0 0 1 1',
  'yy_image,none 1 0 0 1 1'
]

describe('validateSubmission', () => {
  it('accepts a complete, well-formed submission in any row order', () => {
    expect(validateSubmission(submission(...[...GOOD].reverse()), SAMPLE)).toEqual([])
  })

  it('accepts Windows line endings and a byte-order mark', () => {
    expect(validateSubmission('\uFEFF' + submission(...GOOD).replace(/\n/g, '\r\n'), SAMPLE)).toEqual([])
  })

  it('requires the exact header', () => {
    const issues = validateSubmission(submission(...GOOD).replace('id,', 'Id,'), SAMPLE)
    expect(issues).toEqual([
      {
        line: 1,
        severity: 'error',
        message: "header must be exactly 'id,PredictionString', found 'Id,PredictionString'"
      }
    ])
  })

  it('accepts a quoted header and quoted fields, as R and pandas QUOTE_ALL write them', () => {
    const quoted = [
      '"id","PredictionString"',
      ...GOOD.map((line) => line.replace(/^([^,]*),(.*)$/, '"$1","$2"'))
    ]
    expect(validateSubmission(quoted.join('\n') + '\n', SAMPLE)).toEqual([])
    const quotedSample = SAMPLE.replace('id,PredictionString', '"id","PredictionString"')
    expect(validateSubmission(submission(...GOOD), quotedSample)).toEqual([])
    // quoting does not relax the header's names
    expect(validateSubmission(submission(...GOOD).replace('id,', '"Id",'), SAMPLE)[0]).toMatchObject({
      line: 1,
      severity: 'error',
      message: "header must be exactly 'id,PredictionString', found '\"Id\",PredictionString'"
    })
  })

  it('with image sizes, flags opacity boxes outside their image by more than half a pixel', () => {
    const sizes = new Map([
      ['xx', { columns: 300, rows: 400, path: 'test/s/x/xx.dcm' }],
      ['yy', { columns: 100, rows: 50, path: 'test/s/y/yy.dcm' }]
    ])
    const text = submission(
      GOOD[0],
      GOOD[1],
      // on the border, and 0.4 px beyond it: inside with the tolerance
      'xx_image,opacity 0.6 0 0 300 400 opacity 0.5 -0.4 10 300.4 400.4 none 0.4 0 0 1 1',
      'yy_image,opacity 0.9 -3 10 60 40 opacity 0.8 10 10 101 51 none 0.1 0 0 1 1'
    )
    const issues = validateSubmission(text, SAMPLE, undefined, { imageSizes: sizes })
    expect(issues).toEqual([
      {
        line: 5,
        severity: 'error',
        id: 'yy_image',
        message:
          'token 1: opacity box -3 10 60 40 of yy_image reaches 3 px beyond the left edge of its 100x50 image (Columns x Rows of test/s/y/yy.dcm)'
      },
      {
        line: 5,
        severity: 'error',
        id: 'yy_image',
        message:
          'token 7: opacity box 10 10 101 51 of yy_image reaches 1 px beyond the right edge, 1 px beyond the bottom edge of its 100x50 image (Columns x Rows of test/s/y/yy.dcm)'
      }
    ])
    // without sizes nothing is said about them
    expect(validateSubmission(text, SAMPLE)).toEqual([])
  })

  it('lists missing, extra and duplicate ids with line numbers', () => {
    const text = submission(GOOD[0], GOOD[2], 'zz_image,none 1 0 0 1 1', GOOD[3], GOOD[2])
    const issues = validateSubmission(text, SAMPLE)
    expect(issues.map((i) => [i.line, i.severity, i.message])).toEqual([
      [4, 'error', "id 'zz_image' is not in the sample submission"],
      [6, 'error', "duplicate id 'xx_image' (first on line 3)"],
      [null, 'error', "missing id 'bb_study' (sample line 3)"]
    ])
  })

  it('checks each row with the grammar of its kind and points at the token', () => {
    const text = submission(
      'aa_study,opacity 0.5 0 0 1 1',
      GOOD[1],
      'xx_image,opacity 0.6 10 20 300',
      'yy_image,opacity 0.3 50 60 40 80'
    )
    const issues = validateSubmission(text, SAMPLE)
    expect(issues.map((i) => [i.line, i.id, i.message])).toEqual([
      [
        2,
        'aa_study',
        "token 1: expected a study class (negative, typical, indeterminate, atypical), found 'opacity'"
      ],
      [4, 'xx_image', "token 6: expected a number for y2 of 'opacity', found the end of the string"],
      [5, 'yy_image', "token 3: box of 'opacity' needs x1 < x2 and y1 < y2, got 50 60 40 80"]
    ])
  })

  it('warns, without failing, about confidences outside [0, 1] and empty rows', () => {
    const issues = validateSubmission(
      submission(GOOD[0], GOOD[1], 'xx_image,opacity 1.7 10 20 300 400', 'yy_image,'),
      SAMPLE
    )
    expect(issues.map((i) => [i.line, i.severity])).toEqual([
      [4, 'warning'],
      [5, 'warning']
    ])
    expect(hasErrors(issues)).toBe(false)
  })

  it('reports a row with a wrong number of columns', () => {
    const issues = validateSubmission(
      submission(GOOD[0], GOOD[1], GOOD[2], 'yy_image,none 1 0 0 1 1,extra'),
      SAMPLE
    )
    expect(issues).toEqual([
      {
        line: 5,
        severity: 'error',
        id: 'yy_image',
        message: 'expected 2 columns (id,PredictionString), found 3'
      }
    ])
  })
})

describe('writeSubmission', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cxr-submission-'))
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  const rows: SubmissionRow[] = [
    {
      id: 'yy_image',
      detections: [{ cls: 'opacity', confidence: 0.5, x1: 1, y1: 2, x2: 30.123456, y2: 40 }]
    },
    { id: 'aa_study', detections: [{ cls: 'typical', confidence: 0.9, x1: 0, y1: 0, x2: 1, y2: 1 }] },
    { id: 'xx_image', detections: [{ cls: 'none', confidence: 1, x1: 0, y1: 0, x2: 1, y2: 1 }] },
    { id: 'bb_study', detections: [] }
  ]

  it("writes the rows in the sample's order, and the file validates", async () => {
    const out = join(dir, 'submission.csv')
    await writeSubmission(out, rows, SAMPLE)
    const text = readFileSync(out, 'utf8')
    expect(text).toBe(
      submission(
        'aa_study,typical 0.9 0 0 1 1',
        'bb_study,',
        'xx_image,none 1 0 0 1 1',
        'yy_image,opacity 0.5 1 2 30.1235 40'
      )
    )
    expect(hasErrors(validateSubmission(text, SAMPLE))).toBe(false)
    expect(readdirSync(dir)).toEqual(['submission.csv'])
  })

  it('refuses missing ids unless asked to fill them from the sample', () => {
    expect(() => formatSubmission(rows.slice(0, 3), SAMPLE)).toThrow(
      "1 sample id(s) have no prediction, e.g. 'bb_study'"
    )
    expect(formatSubmission(rows.slice(0, 3), SAMPLE, { fillMissing: true })).toContain(
      'bb_study,negative 1 0 0 1 1\n'
    )
  })

  it('refuses ids outside the sample and classes of the wrong row kind', () => {
    expect(() => formatSubmission([...rows, { id: 'qq_image', detections: [] }], SAMPLE)).toThrow(
      "not in the sample submission, e.g. 'qq_image'"
    )
    const wrongKind = rows.map((r) =>
      r.id === 'aa_study'
        ? { ...r, detections: [{ cls: 'opacity' as const, confidence: 1, x1: 0, y1: 0, x2: 5, y2: 5 }] }
        : r
    )
    expect(() => formatSubmission(wrongKind, SAMPLE)).toThrow(
      "aa_study is a study row and cannot hold 'opacity'"
    )
  })
})
