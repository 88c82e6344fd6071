// The CSP <meta> tag the renderer build writes into index.html (electron.vite.config.ts), checked
// on a real Vite build of renderer/index.html: the policy of common/csp.ts, ahead of every script.
// The app's own built index.html is checked in package-layout.test.ts, inside the package.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build } from 'vite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CONTENT_SECURITY_POLICY, META_CONTENT_SECURITY_POLICY } from '../../common/csp'
import { cspMeta } from './html'
import { cspMetaTag } from '../../electron.vite.config'

const root = join(__dirname, '..', '..')
let work: string
let html: string

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'cxr-csp-meta-'))
  // the real page, with a stand-in for the app's entry module
  writeFileSync(join(work, 'index.html'), readFileSync(join(root, 'renderer', 'index.html')))
  mkdirSync(join(work, 'src'))
  writeFileSync(join(work, 'src', 'main.ts'), "document.title = 'built'\n")
  await build({
    configFile: false,
    root: work,
    base: './',
    logLevel: 'silent',
    plugins: [cspMetaTag()],
    build: { outDir: join(work, 'out'), emptyOutDir: true }
  })
  html = readFileSync(join(work, 'out', 'index.html'), 'utf8')
}, 60_000)

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true })
})

const directives = (policy: string) => policy.split('; ')

describe("the renderer's CSP <meta> tag", () => {
  it('carries the policy of common/csp.ts, after <meta charset> and before any script or stylesheet', () => {
    const meta = cspMeta(html)
    expect(meta).not.toBeNull()
    expect(meta!.policy).toBe(META_CONTENT_SECURITY_POLICY)
    expect(meta!.at).toBeGreaterThan(html.indexOf('<meta charset'))
    expect(meta!.at).toBeLessThan(html.indexOf('<script'))
    expect(html.match(/Content-Security-Policy/g)).toHaveLength(1)
  })

  it("is the hosts' header minus frame-ancestors, which browsers ignore in a <meta> tag (and log an error for)", () => {
    const header = directives(CONTENT_SECURITY_POLICY)
    const meta = directives(META_CONTENT_SECURITY_POLICY)
    expect(meta.every((directive) => header.includes(directive))).toBe(true)
    expect(header.filter((directive) => !meta.includes(directive))).toEqual(["frame-ancestors 'none'"])
  })
})
