// electron-builder.config.ts without building: the fuses the afterPack hook flips (on a fuse wire
// laid out as each platform's package holds it), the targets, icons and what is left out.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { FuseV1Options, FuseVersion, getCurrentFuseWire } from '@electron/fuses'
import { Arch, type AfterPackContext } from 'electron-builder'
import { PNG } from 'pngjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import config, { afterPack, FUSES, LEFT_OUT_NATIVE, rendererOnlyPackages } from '../../electron-builder.config'

const root = join(__dirname, '..', '..')
const SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX'
/** Electron 45's defaults, in wire order. */
const DEFAULT_WIRE = '101100011'
const EXPECTED_WIRE = '010011001'

let work: string
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'cxr-fuses-'))
})
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true })
})

/** A file with a fuse wire where @electron/fuses looks for it. */
function fakeBinary(path: string): string {
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, Buffer.concat([Buffer.from('binary…'), Buffer.from(SENTINEL), Buffer.from([1, 9]), Buffer.from(DEFAULT_WIRE)]))
  return path
}

const wireOf = async (path: string) => {
  const wire = await getCurrentFuseWire(path)
  return Array.from({ length: 9 }, (_, i) => String.fromCharCode(wire[i as FuseV1Options] as number)).join('')
}

function context(platform: string, appOutDir: string): AfterPackContext {
  return {
    appOutDir,
    electronPlatformName: platform,
    arch: Arch.x64,
    packager: { executableName: 'cxr-studio', appInfo: { productFilename: 'CXR Studio' } }
  } as unknown as AfterPackContext
}

describe('Electron fuses', () => {
  it('turn off RunAsNode, NODE_OPTIONS and --inspect, and turn on cookie encryption, ASAR integrity and ASAR-only loading', () => {
    expect(FUSES).toEqual({
      version: FuseVersion.V1,
      strictlyRequireAllFuses: true,
      [FuseV1Options.RunAsNode]: false,
      [FuseV1Options.EnableCookieEncryption]: true,
      [FuseV1Options.EnableNodeOptionsEnvironmentVariable]: false,
      [FuseV1Options.EnableNodeCliInspectArguments]: false,
      [FuseV1Options.EnableEmbeddedAsarIntegrityValidation]: true,
      [FuseV1Options.OnlyLoadAppFromAsar]: true,
      [FuseV1Options.LoadBrowserProcessSpecificV8Snapshot]: false,
      [FuseV1Options.GrantFileProtocolExtraPrivileges]: false,
      [FuseV1Options.WasmTrapHandlers]: true
    })
  })

  it('are flipped by the afterPack hook that the config wires, in the binary each platform packages', async () => {
    expect(config.afterPack).toBe(afterPack)
    const binaries = {
      linux: fakeBinary(join(work, 'linux', 'cxr-studio')),
      win32: fakeBinary(join(work, 'win32', 'CXR Studio.exe')),
      darwin: fakeBinary(join(work, 'darwin', 'CXR Studio.app', 'Contents', 'Frameworks', 'Electron Framework.framework', 'Electron Framework'))
    }
    for (const [platform, binary] of Object.entries(binaries)) {
      expect(await wireOf(binary), platform).toBe(DEFAULT_WIRE)
      await afterPack(context(platform, join(work, platform)))
      expect(await wireOf(binary), platform).toBe(EXPECTED_WIRE)
    }
  })

  it('fail the build when the binary has a fuse the config does not name (an Electron upgrade to review)', async () => {
    const binary = join(work, 'newer', 'cxr-studio')
    mkdirSync(dirname(binary), { recursive: true })
    writeFileSync(binary, Buffer.concat([Buffer.from(SENTINEL), Buffer.from([1, 10]), Buffer.from(`${DEFAULT_WIRE}1`)]))
    await expect(afterPack(context('linux', dirname(binary)))).rejects.toThrow(/strictlyRequireAllFuses/)
  })
})

describe('targets and assets', () => {
  it('builds AppImage and deb on Linux, an NSIS installer on Windows and a dmg on macOS, as CXR Studio', () => {
    expect(config.productName).toBe('CXR Studio')
    expect(config.appId).toMatch(/^[a-z]+(\.[a-z][a-z0-9-]*)+$/)
    expect(config.linux?.target).toEqual(['AppImage', 'deb'])
    expect(config.win?.target).toEqual(['nsis'])
    expect(config.mac?.target).toEqual(['dmg'])
    expect(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts.dist).toBe(
      'npm run build:node && electron-vite build && node scripts/dist.mjs'
    )
  })

  it('has a square icon of at least 512 px (macOS, and Windows .ico from it) and the Linux sizes its file names say', () => {
    const icon = PNG.sync.read(readFileSync(join(root, config.icon as string)))
    expect(icon.width).toBe(icon.height)
    expect(icon.width).toBeGreaterThanOrEqual(512)
    const linuxDir = join(root, config.linux!.icon as string)
    const sizes = readdirSync(linuxDir).map((name) => {
      const png = PNG.sync.read(readFileSync(join(linuxDir, name)))
      expect(name).toBe(`${png.width}x${png.height}.png`)
      return png.width
    })
    expect(sizes).toEqual(expect.arrayContaining([16, 32, 48, 256, 512]))
  })

  it('leaves out tfjs-node(-gpu) and only packages that no back-end bundle imports', () => {
    const files = config.files as string[]
    for (const name of LEFT_OUT_NATIVE) expect(files).toContain(`!node_modules/${name}/**`)
    const bundles = readdirSync(join(root, 'out', 'node')).filter((name) => name.endsWith('.js'))
    const imported = new Set(
      bundles.flatMap((name) =>
        [...readFileSync(join(root, 'out', 'node', name), 'utf8').matchAll(/\bfrom\s*["']([^."'][^"']*)["']|\bimport\(\s*["']([^."'][^"']*)["']/g)]
          .map((match) => match[1] ?? match[2])
          .filter((specifier) => !specifier.startsWith('node:'))
          .map((specifier) => (specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]))
      )
    )
    expect(imported.has('@tensorflow/tfjs-core')).toBe(true)
    const leftOut = rendererOnlyPackages()
    expect(leftOut).toEqual(expect.arrayContaining(['vue', 'echarts']))
    expect(leftOut.filter((name) => imported.has(name))).toEqual([])
  })
})
