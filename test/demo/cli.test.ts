import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'

const BIN = fileURLToPath(new URL('../../bin/cxr-studio.mjs', import.meta.url))
const BUILT = existsSync(fileURLToPath(new URL('../../out/node/cli.js', import.meta.url)))
if (!BUILT)
  console.warn('cxr-studio demo CLI tests skipped: out/node/cli.js is missing (run `npm run build:node`)')

function cli(...args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' })
}

describe.skipIf(!BUILT)('cxr-studio demo', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cxr-demo-cli-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('writes a demo and prints only its JSON summary with --json', () => {
    const result = cli(
      'demo',
      join(dir, 'demo'),
      '--studies',
      '4',
      '--test-studies',
      '2',
      '--seed',
      '3',
      '--json'
    )
    expect(result.status, result.stderr).toBe(0)
    const summary = JSON.parse(result.stdout)
    expect(summary.splits.train.studies).toBe(4)
    expect(summary.splits.test.studies).toBe(2)
    expect(summary.seed).toBe(3)
    expect(existsSync(join(dir, 'demo', 'sample_submission.csv'))).toBe(true)
  })

  it('prints a readable summary, and may overwrite its own previous demo', () => {
    const result = cli('demo', join(dir, 'demo'), '--studies', '4', '--test-studies', '1')
    expect(result.status, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/train: 4 studies \(negative 1, typical 1, indeterminate 1, atypical 1\)/)
    expect(result.stdout).toMatch(
      /quirk: train image [0-9a-f]{12} is a pixel-identical, unboxed copy of [0-9a-f]{12}/
    )
  })

  it('writes the hard variant with --hard: the summary counts location patterns per class, the README says hard', () => {
    const out = join(dir, 'hard')
    const result = cli(
      'demo',
      out,
      '--hard',
      '--studies',
      '8',
      '--test-studies',
      '4',
      '--seed',
      '3',
      '--json'
    )
    expect(result.status, result.stderr).toBe(0)
    const summary = JSON.parse(result.stdout)
    expect(summary.splits.train.studies).toBe(8)
    expect(summary.splits.test.studies).toBe(4)
    const patterns = summary.hard.patterns.train as Record<string, Record<string, number>>
    expect(patterns.negative).toEqual({ none: summary.splits.train.studiesPerClass.negative })
    for (const studyClass of ['typical', 'indeterminate', 'atypical']) {
      const drawn = Object.values(patterns[studyClass]).reduce((a, b) => a + b, 0)
      expect(drawn, studyClass).toBe(summary.splits.train.studiesPerClass[studyClass])
      expect(patterns[studyClass].none, studyClass).toBeUndefined()
    }
    const readme = readFileSync(join(out, 'README.txt'), 'utf8')
    expect(readme).toMatch(/^CXR Studio synthetic demo dataset - hard variant\n/)
    expect(readme).toContain('Written by `cxr-studio demo --hard` with seed 3')
    // and the default demo can overwrite it: it is recognised as a demo folder
    expect(cli('demo', out, '--studies', '4', '--test-studies', '1').status).toBe(0)
    expect(readFileSync(join(out, 'README.txt'), 'utf8')).not.toContain('hard variant')
  })

  it('refuses a non-empty folder that is not a demo with a one-line error and exit code 1', () => {
    mkdirSync(join(dir, 'mine'))
    writeFileSync(join(dir, 'mine', 'study.dcm'), 'not mine to delete')
    const result = cli('demo', join(dir, 'mine'))
    expect(result.status).toBe(1)
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(result.stderr).toMatch(/mine: the folder is not empty and does not hold a CXR Studio demo/)
    expect(existsSync(join(dir, 'mine', 'study.dcm'))).toBe(true)
  })

  it('exits 2 on a malformed number and 1 on a count out of range', () => {
    expect(cli('demo', join(dir, 'x'), '--studies', 'many').status).toBe(2)
    const tooFew = cli('demo', join(dir, 'x'), '--studies', '2')
    expect(tooFew.status).toBe(1)
    expect(tooFew.stderr).toMatch(/studies must be an integer from 4 to 2000, got 2/)
  })
})
