// `cxr-studio score` and `validate-submission` end to end, on a generated demo dataset.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateDemo } from '../../main/core/demo'
import { indexFolder } from '../../main/core/dicom/index-folder'
import { referenceScore } from './reference-scorer'
import { runCli } from '../cli'

const BUILT = join(import.meta.dirname, '..', '..', 'out', 'node', 'cli.js')

const cli = (...args: string[]) => runCli(['--workspace', join(work, 'ws'), ...args])

let work: string
let demo: string
const read = (name: string) => readFileSync(join(demo, name), 'utf8')

beforeAll(async () => {
  if (!existsSync(BUILT))
    throw new Error('out/node/cli.js is missing: run `npm run build:node` first (npm test does)')
  work = mkdtempSync(join(tmpdir(), 'cxr-score-cli-'))
  demo = join(work, 'demo')
  await generateDemo(demo, { studies: 6, testStudies: 6, seed: 5 })
})
afterAll(() => rmSync(work, { recursive: true, force: true }))

/** A submission that predicts the test truth exactly, with the four study classes ranked. */
function perfectSubmission(): string {
  const lines = ['id,PredictionString']
  const classes = ['negative', 'typical', 'indeterminate', 'atypical']
  for (const row of read('test_study_level.csv').trim().split('\n').slice(1)) {
    const [id, ...values] = row.split(',')
    lines.push(`${id},${classes.map((c, i) => `${c} ${values[i] === '1' ? 0.9 : 0.05} 0 0 1 1`).join(' ')}`)
  }
  for (const row of read('test_image_level.csv').trim().split('\n').slice(1)) {
    const fields = row.split(',')
    lines.push(`${fields[0]},${fields[fields.length - 2]}`)
  }
  return lines.join('\n') + '\n'
}

describe('cxr-studio score', () => {
  it('prints exactly ap, studyMap, imageMap and final, matching the reference scorer', async () => {
    const run = await cli(
      'score',
      demo,
      '--truth',
      'test',
      '--submission',
      join(demo, 'sample_submission.csv'),
      '--json'
    )
    expect(run.code).toBe(0)
    const result = JSON.parse(run.stdout)
    expect(Object.keys(result)).toEqual(['ap', 'studyMap', 'imageMap', 'final'])
    const ref = referenceScore(
      read('test_study_level.csv'),
      read('test_image_level.csv'),
      read('sample_submission.csv')
    )
    for (const cls of Object.keys(ref.ap)) expect(result.ap[cls]).toBeCloseTo(ref.ap[cls]!, 9)
    expect(result.final).toBeCloseTo(ref.final!, 9)
    expect(result.final).toBeLessThan(0.5)
  })

  it('scores a perfect submission 1, from explicit truth files too, and shows a table', async () => {
    writeFileSync(join(work, 'perfect.csv'), perfectSubmission())
    const run = await cli(
      'score',
      '--study-csv',
      join(demo, 'test_study_level.csv'),
      '--image-csv',
      join(demo, 'test_image_level.csv'),
      '--submission',
      join(work, 'perfect.csv')
    )
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/final\s+1\.0000/)
    expect(run.stdout).toMatch(/opacity\s+1\.0000/)
  })

  it('fails in one line when a file is missing or the truth is not given', async () => {
    const missing = await cli('score', demo, '--submission', join(work, 'nope.csv'))
    expect(missing.code).toBe(1)
    expect(missing.stderr.trim()).toBe(`cxr-studio: ${join(work, 'nope.csv')}: no such file`)
    const noTruth = await cli('score', '--submission', join(demo, 'sample_submission.csv'))
    expect(noTruth.code).toBe(1)
    expect(noTruth.stderr).toContain('give DIR')
    expect((await cli('score', demo, '--truth', 'val', '--submission', 'x.csv')).code).toBe(2)
  })
})

describe('cxr-studio validate-submission', () => {
  it('accepts the sample submission', async () => {
    const run = await cli(
      'validate-submission',
      join(demo, 'sample_submission.csv'),
      '--sample',
      join(demo, 'sample_submission.csv')
    )
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('valid')
  })

  it('exits 1 and lists each problem with its line number', async () => {
    const lines = perfectSubmission().trim().split('\n')
    const id = lines[2].split(',')[0]
    lines[2] = `${id},typical 0.5 0 0 1`
    lines.push(lines[3])
    writeFileSync(join(work, 'broken.csv'), lines.join('\n') + '\n')
    const run = await cli(
      'validate-submission',
      join(work, 'broken.csv'),
      '--sample',
      join(demo, 'sample_submission.csv')
    )
    expect(run.code).toBe(1)
    expect(run.stdout).toContain(
      `broken.csv:3: error: token 6: expected a number for y2 of 'typical', found the end of the string`
    )
    expect(run.stdout).toContain(`broken.csv:${lines.length}: error: duplicate id`)
    expect(run.stderr).toContain('invalid submission: 2 error(s)')
  })

  it('accepts a submission written with every field quoted (R, pandas QUOTE_ALL)', async () => {
    const quoted = perfectSubmission()
      .trim()
      .split('\n')
      .map((line) => line.replace(/^([^,]*),(.*)$/, '"$1","$2"'))
    expect(quoted[0]).toBe('"id","PredictionString"')
    writeFileSync(join(work, 'quoted.csv'), quoted.join('\n') + '\n')
    const run = await cli(
      'validate-submission',
      join(work, 'quoted.csv'),
      '--sample',
      join(demo, 'sample_submission.csv')
    )
    expect(run.stdout).toBe(`${join(work, 'quoted.csv')}: valid\n`)
    expect(run.code).toBe(0)
    const scored = await cli(
      'score',
      demo,
      '--truth',
      'test',
      '--submission',
      join(work, 'quoted.csv'),
      '--json'
    )
    expect(JSON.parse(scored.stdout).final).toBe(1)
  })

  it('with --dataset, names the line, id, box and image size of a box outside its image', async () => {
    const lines = perfectSubmission().trim().split('\n')
    const at = lines.findIndex((line) => line.includes('_image,'))
    const id = lines[at].split(',')[0]
    lines[at] = `${id},opacity 0.9 10 20 100000 30 none 0.1 0 0 1 1`
    writeFileSync(join(work, 'outside.csv'), lines.join('\n') + '\n')
    const sample = join(demo, 'sample_submission.csv')
    // without the dataset the box is well-formed
    expect((await cli('validate-submission', join(work, 'outside.csv'), '--sample', sample)).code).toBe(0)

    const run = await cli(
      'validate-submission',
      join(work, 'outside.csv'),
      '--sample',
      sample,
      '--dataset',
      demo
    )
    expect(run.code).toBe(1)
    const image = (await indexFolder(demo)).images.find((i) => `${i.imageId}_image` === id)!
    expect(run.stdout).toBe(
      `${join(work, 'outside.csv')}:${at + 1}: error: token 1: opacity box 10 20 100000 30 of ${id} reaches ` +
        `${100000 - image.columns} px beyond the right edge of its ${image.columns}x${image.rows} image ` +
        `(Columns x Rows of ${image.path})\n`
    )
    expect(run.stderr).toContain('invalid submission: 1 error(s), 0 warning(s)')
    // the perfect submission's own boxes are all inside their images
    writeFileSync(join(work, 'perfect.csv'), perfectSubmission())
    const perfect = await cli(
      'validate-submission',
      join(work, 'perfect.csv'),
      '--sample',
      sample,
      '--dataset',
      demo
    )
    expect(perfect.code).toBe(0)
  })
})
