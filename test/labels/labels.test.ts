import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  formatImageCsv,
  formatLabelError,
  formatStudyCsv,
  parseImageCsv,
  parseStudyCsv,
  writeImageCsv,
  writeStudyCsv
} from '../../main/core/labels'
import { parsePythonLiteral } from '../../main/core/labels/python-literal'

const IMAGE_HEADER = 'id,boxes,label,StudyInstanceUID'
const STUDY_HEADER =
  'id,Negative for Pneumonia,Typical Appearance,Indeterminate Appearance,Atypical Appearance'
// Rows in the exact Kaggle format (DESIGN.md): a two-box image and an image without boxes.
const TWO_BOXES =
  "000a312787f2_image,\"[{'x': 789.28836, 'y': 582.43035, 'width': 1026.65662, 'height': 1917.30292}, {'x': 2245.91208, 'y': 591.20528, 'width': 1094.66162, 'height': 1761.54944}]\",opacity 1 789.28836 582.43035 1815.94498 2499.73327 opacity 1 2245.91208 591.20528 3340.5737 2352.75472,5776db0cec75"
const NO_BOXES = '000c3a3f293f_image,,none 1 0 0 1 1,ff0879eb20ed'
const ONE_BOX =
  "65761e66de9f_image,\"[{'x': 720.65215, 'y': 636.51048, 'width': 332.19348, 'height': 648.12446}]\",opacity 1 720.65215 636.51048 1052.84563 1284.63494,00086460a852"

const imageCsv = (...rows: string[]) => [IMAGE_HEADER, ...rows].join('\n') + '\n'
const studyCsv = (...rows: string[]) => [STUDY_HEADER, ...rows].join('\n') + '\n'
const rendered = (errors: Parameters<typeof formatLabelError>[0][]) => errors.map(formatLabelError)

describe('train_image_level.csv', () => {
  it('reads the Kaggle rows: boxes in pixels, the raw label and the study', () => {
    const { labels, errors } = parseImageCsv(imageCsv(TWO_BOXES, NO_BOXES))
    expect(errors).toEqual([])
    expect(labels).toEqual([
      {
        imageId: '000a312787f2',
        studyId: '5776db0cec75',
        boxes: [
          { x: 789.28836, y: 582.43035, width: 1026.65662, height: 1917.30292 },
          { x: 2245.91208, y: 591.20528, width: 1094.66162, height: 1761.54944 }
        ],
        label:
          'opacity 1 789.28836 582.43035 1815.94498 2499.73327 opacity 1 2245.91208 591.20528 3340.5737 2352.75472',
        line: 2
      },
      { imageId: '000c3a3f293f', studyId: 'ff0879eb20ed', boxes: [], label: 'none 1 0 0 1 1', line: 3 }
    ])
  })

  it('writes the Kaggle rows back byte for byte, and its own output reads back equal', () => {
    const text = imageCsv(TWO_BOXES, NO_BOXES, ONE_BOX)
    const { labels } = parseImageCsv(text)
    expect(formatImageCsv(labels)).toBe(text)
    const edited = labels.map((l) => ({
      ...l,
      boxes: l.boxes.map((b) => ({ ...b, x: b.x + 0.5, width: 100 }))
    }))
    const again = parseImageCsv(formatImageCsv(edited))
    expect(again.errors).toEqual([])
    expect(again.labels.map((l) => l.boxes)).toEqual(edited.map((l) => l.boxes))
  })

  it('reports a bad boxes literal as file:line with the column, and still loads the other rows', () => {
    const bad =
      "0b2efe0b9d0b_image,\"[{'x' 1.5, 'y': 2, 'width': 3, 'height': 4}]\",opacity 1 1.5 2 4.5 6,aaaaaaaaaaaa"
    const { labels, errors } = parseImageCsv(imageCsv(TWO_BOXES, bad, NO_BOXES))
    expect(rendered(errors)).toEqual(["train_image_level.csv:3: boxes: expected ':' after key at column 7"])
    expect(labels.map((l) => l.imageId)).toEqual(['000a312787f2', '000c3a3f293f'])
  })

  it('rejects other malformed literals with a reason', () => {
    const cases: Array<[string, string]> = [
      ["[{'x': 1, 'y': 2, 'width': 3}]", "boxes: box 1: missing key 'height'"],
      ["[{'x': 1, 'y': 2, 'width': 3, 'height': 'a'}]", "boxes: box 1: 'height' is not a number"],
      [
        "[{'x': 1, 'y': 2, 'width': 3, 'height': 4}",
        "boxes: expected ',' or ']' in list, found end of text at column 43"
      ],
      ["[{'x': 1, 'y': 2, 'w': 3, 'height': 4}]", "boxes: box 1: unexpected key 'w'"],
      ["__import__('os')", "boxes: expected a value, found '_' at column 1"]
    ]
    for (const [literal, reason] of cases) {
      const row = `0b2efe0b9d0b_image,"${literal}",opacity 1 1 2 4 6,aaaaaaaaaaaa`
      const { labels, errors } = parseImageCsv(imageCsv(row))
      expect(rendered(errors)).toEqual([`train_image_level.csv:2: ${reason}`])
      expect(labels).toEqual([])
    }
  })

  it('accepts double quotes, integers, exponents, extra whitespace and trailing commas', () => {
    const literal = '[ {"x": 1, "y": 2.5e1, \'width\': .5, "height": 4.,} , ]'
    const row = `0b2efe0b9d0b_image,"${literal.replace(/"/g, '""')}",opacity 1 1 25 1.5 29,aaaaaaaaaaaa`
    const { labels, errors } = parseImageCsv(imageCsv(row))
    expect(errors).toEqual([])
    expect(labels[0].boxes).toEqual([{ x: 1, y: 25, width: 0.5, height: 4 }])
  })

  it('reports a row with the wrong number of columns and keeps the rest', () => {
    const { labels, errors } = parseImageCsv(
      imageCsv(NO_BOXES, '0b2efe0b9d0b_image,,none 1 0 0 1 1', ONE_BOX)
    )
    expect(rendered(errors)).toEqual(['train_image_level.csv:3: expected 4 columns, found 3'])
    expect(labels.map((l) => l.line)).toEqual([2, 4])
  })

  it('reports a label that disagrees with boxes, keeping the boxes', () => {
    const wrongCorner = ONE_BOX.replace('1052.84563', '1060.1')
    const wrongCount = TWO_BOXES.replace(' opacity 1 2245.91208 591.20528 3340.5737 2352.75472', '')
    const noneWithBoxes = ONE_BOX.replace('65761e66de9f', '65761e66de90').replace(
      /opacity 1 [\d. ]+,/,
      'none 1 0 0 1 1,'
    )
    const { labels, errors } = parseImageCsv(imageCsv(wrongCorner, wrongCount, noneWithBoxes))
    expect(rendered(errors)).toEqual([
      'train_image_level.csv:2: label disagrees with boxes: box 1: label x2 = 1060.1 but boxes gives 1052.84563; using boxes',
      'train_image_level.csv:3: label disagrees with boxes: label has 1 opacity box(es) but boxes has 2; using boxes',
      "train_image_level.csv:4: label disagrees with boxes: label is 'none 1 0 0 1 1' but boxes has 1 box(es); using boxes"
    ])
    expect(labels.map((l) => l.boxes.length)).toEqual([1, 2, 1])
  })

  it('reports unreadable label strings', () => {
    const { errors } = parseImageCsv(
      imageCsv(
        '0b2efe0b9d0b_image,,none 1 0 0 1,aaaaaaaaaaaa',
        '0b2efe0b9d0c_image,,box 1 0 0 1 1,aaaaaaaaaaaa',
        "0b2efe0b9d0d_image,\"[{'x': 1, 'y': 2, 'width': 3, 'height': 4}]\",opacity 1 1 2 x 6,aaaaaaaaaaaa"
      )
    )
    expect(rendered(errors)).toEqual([
      "train_image_level.csv:2: label: expected groups of 6 tokens ('opacity 1 x1 y1 x2 y2'), found 5 tokens",
      "train_image_level.csv:3: label: unknown class 'box' (expected 'opacity' or 'none')",
      "train_image_level.csv:4: label: 'x' is not a number in 'opacity 1 1 2 x 6'"
    ])
  })

  it('keeps the first of two rows with the same id', () => {
    const { labels, errors } = parseImageCsv(
      imageCsv(NO_BOXES, ONE_BOX, NO_BOXES.replace('ff0879eb20ed', 'bbbbbbbbbbbb'))
    )
    expect(rendered(errors)).toEqual([
      "train_image_level.csv:4: duplicate id '000c3a3f293f_image' (first on line 2); this row is ignored"
    ])
    expect(labels.find((l) => l.imageId === '000c3a3f293f')?.studyId).toBe('ff0879eb20ed')
  })

  it('reads a file whose header line is missing, saying so once', () => {
    const { labels, errors } = parseImageCsv([TWO_BOXES, NO_BOXES].join('\n'))
    expect(rendered(errors)).toEqual([
      "train_image_level.csv:1: missing header line (expected 'id,boxes,label,StudyInstanceUID'); reading the columns in that order"
    ])
    expect(labels.map((l) => [l.imageId, l.line])).toEqual([
      ['000a312787f2', 1],
      ['000c3a3f293f', 2]
    ])
  })

  it('refuses a header without a required column, and reads columns by name otherwise', () => {
    const wrong = parseImageCsv('id,boxes,labels,StudyInstanceUID\n' + NO_BOXES + '\n')
    expect(rendered(wrong.errors)).toEqual([
      "train_image_level.csv:1: header: expected 'id,boxes,label,StudyInstanceUID', missing 'label'"
    ])
    expect(wrong.labels).toEqual([])
    // pandas' to_csv(index=True) adds an unnamed index column in front
    const indexed = parseImageCsv(
      ',StudyInstanceUID,id,boxes,label\n0,ff0879eb20ed,000c3a3f293f_image,,none 1 0 0 1 1\n'
    )
    expect(indexed.errors).toEqual([])
    expect(indexed.labels[0]).toMatchObject({ imageId: '000c3a3f293f', studyId: 'ff0879eb20ed', boxes: [] })
  })

  it('confines a stray quote to its own line', () => {
    const { labels, errors } = parseImageCsv(
      imageCsv(NO_BOXES, "0b2efe0b9d0b_image,\"[{'x': 1,none 1 0 0 1 1,aaaaaaaaaaaa", ONE_BOX)
    )
    expect(rendered(errors)).toEqual(['train_image_level.csv:3: unterminated quoted field'])
    expect(labels.map((l) => l.imageId)).toEqual(['000c3a3f293f', '65761e66de9f'])
  })

  it('reads CRLF line endings and a byte-order mark', () => {
    const { labels, errors } = parseImageCsv('\uFEFF' + imageCsv(TWO_BOXES, NO_BOXES).replace(/\n/g, '\r\n'))
    expect(errors).toEqual([])
    expect(labels.map((l) => l.boxes.length)).toEqual([2, 0])
  })

  it('reports an empty file', () => {
    expect(rendered(parseImageCsv('').errors)).toEqual([
      "train_image_level.csv:1: empty file (expected the header 'id,boxes,label,StudyInstanceUID')"
    ])
  })
})

describe('train_study_level.csv', () => {
  it('reads one-hot rows into the study class', () => {
    const { labels, errors } = parseStudyCsv(
      studyCsv('00086460a852_study,0,1,0,0', '000c9c05fd14_study,0,0,0,1', '00292f8c37bd_study,1,0,0,0')
    )
    expect(errors).toEqual([])
    expect(labels.map((l) => [l.studyId, l.label, l.line])).toEqual([
      ['00086460a852', 'typical', 2],
      ['000c9c05fd14', 'atypical', 3],
      ['00292f8c37bd', 'negative', 4]
    ])
    expect(labels[0].classes).toEqual({ negative: 0, typical: 1, indeterminate: 0, atypical: 0 })
  })

  it('keeps a row that is not one-hot with an unknown class, and skips bad values, ids and duplicates', () => {
    const { labels, errors } = parseStudyCsv(
      studyCsv(
        '00086460a852_study,0,1,1,0',
        '000c9c05fd14_study,0,2,0,0',
        '00292f8c37bd,1,0,0,0',
        '005057b3f880_study,0,0,1,0',
        '005057b3f880_study,1,0,0,0',
        '0051d9b12e72_study,0,0,0'
      )
    )
    expect(rendered(errors)).toEqual([
      "train_study_level.csv:2: not one-hot: 2 classes are 1 (0,1,1,0); the study's class is unknown",
      "train_study_level.csv:3: Typical Appearance: expected 0 or 1, found '2'",
      "train_study_level.csv:4: id: expected '<study>_study', found '00292f8c37bd'",
      "train_study_level.csv:6: duplicate id '005057b3f880_study' (first on line 5); this row is ignored",
      'train_study_level.csv:7: expected 5 columns, found 4'
    ])
    expect(labels.map((l) => [l.studyId, l.label])).toEqual([
      ['00086460a852', null],
      ['005057b3f880', 'indeterminate']
    ])
  })

  it('round-trips through the writer', () => {
    const text = studyCsv('00086460a852_study,0,1,0,0', '000c9c05fd14_study,0,0,0,1')
    expect(formatStudyCsv(parseStudyCsv(text).labels)).toBe(text)
  })
})

describe('label file writers', () => {
  it('write both files atomically where the caller asks, readable by the parsers', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cxr-labels-'))
    try {
      const images = parseImageCsv(imageCsv(TWO_BOXES, NO_BOXES)).labels
      const studies = parseStudyCsv(studyCsv('5776db0cec75_study,0,1,0,0')).labels
      await writeImageCsv(join(dir, 'fixed', 'train_image_level.csv'), images)
      await writeStudyCsv(join(dir, 'fixed', 'train_study_level.csv'), studies)
      expect(
        parseImageCsv(await readFile(join(dir, 'fixed', 'train_image_level.csv'), 'utf8')).labels
      ).toEqual(images)
      expect(
        parseStudyCsv(await readFile(join(dir, 'fixed', 'train_study_level.csv'), 'utf8')).labels
      ).toEqual(studies)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('python literal reader', () => {
  it('reads nested values without evaluating them', () => {
    expect(parsePythonLiteral("[{'a': [1, -2.5e-3, True, None]}, 'it\\'s']")).toEqual([
      { a: [1, -0.0025, true, null] },
      "it's"
    ])
    expect(() => parsePythonLiteral("{'a': 1, 'a': 2}")).toThrow("duplicate key 'a' at column 10")
    expect(() => parsePythonLiteral('[1] + [2]')).toThrow("unexpected '+' after the value at column 5")
  })
})
