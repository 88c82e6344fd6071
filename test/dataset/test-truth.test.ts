// The held-out truth files some folders (the demo) keep beside test/.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { readTestTruth, TEST_TRUTH_FILES } from '../../main/core/dataset'
import { box, imageCsvText, imageRow, studyCsvText, studyRow } from './build'

let root = ''
afterEach(async () => {
  if (root) await rm(root, { recursive: true, force: true })
})

describe('test-split truth files', () => {
  it('reads both files: study classes and image boxes by id, malformed rows named by file:line', async () => {
    root = await mkdtemp(join(tmpdir(), 'cxr-truth-'))
    await writeFile(join(root, TEST_TRUTH_FILES.study), studyCsvText([studyRow('T1', 'typical')]))
    await writeFile(
      join(root, TEST_TRUTH_FILES.image),
      imageCsvText([imageRow('IT1', 'T1', [box(1, 2, 30, 40)]), 'IT2_image,"[{\'x\': 1",none 1 0 0 1 1,T1'])
    )
    const truth = await readTestTruth(root)
    expect(truth?.studies.get('T1')?.label).toBe('typical')
    expect(truth?.images.get('IT1')?.boxes).toEqual([{ x: 1, y: 2, width: 30, height: 40 }])
    expect(truth?.images.has('IT2')).toBe(false)
    expect(truth?.problems).toHaveLength(1)
    expect(truth?.problems[0]).toMatch(/^test_image_level\.csv:3: /)
  })

  it('is absent unless both files are there', async () => {
    root = await mkdtemp(join(tmpdir(), 'cxr-truth-'))
    expect(await readTestTruth(root)).toBeNull()
    await writeFile(join(root, TEST_TRUTH_FILES.study), studyCsvText([studyRow('T1', 'typical')]))
    expect(await readTestTruth(root)).toBeNull()
  })
})
