// Packages the built app (out/) with electron-builder; `npm run dist` builds out/ first.
//   node scripts/dist.mjs [electron-builder args…]   installers for this platform (electron-builder.config.ts)
//   node scripts/dist.mjs --placeholder [--out DIR]   only the unpacked Linux layout, around a
//       placeholder Electron: for machines without an Electron binary, to check what the package
//       holds and where (test/packaging runs it). The result does not run.
import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(import.meta.url)

/** Where @electron/fuses finds the fuse wire: this marker, a version byte, a length byte, one byte per fuse. */
const FUSE_SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX'
/**
 * Electron 45's fuse defaults in wire order ('1' on, '0' off): RunAsNode, EnableCookieEncryption,
 * EnableNodeOptionsEnvironmentVariable, EnableNodeCliInspectArguments,
 * EnableEmbeddedAsarIntegrityValidation, OnlyLoadAppFromAsar, LoadBrowserProcessSpecificV8Snapshot,
 * GrantFileProtocolExtraPrivileges, WasmTrapHandlers.
 */
const PLACEHOLDER_FUSE_WIRE = '101100011'

/**
 * An unpacked Electron for Linux as electron-builder copies it (an `electron` executable and
 * resources/). The executable is a shell script that says what it is, carrying a fuse wire so the
 * afterPack hook flips real bytes.
 */
function writePlaceholderElectron(dir) {
  mkdirSync(join(dir, 'resources'), { recursive: true })
  const executable = join(dir, 'electron')
  const script = '#!/bin/sh\necho "placeholder Electron from scripts/dist.mjs --placeholder: this package does not run" >&2\nexit 1\n'
  writeFileSync(
    executable,
    Buffer.concat([
      Buffer.from(script),
      Buffer.from(FUSE_SENTINEL),
      Buffer.from([1, PLACEHOLDER_FUSE_WIRE.length]),
      Buffer.from(PLACEHOLDER_FUSE_WIRE)
    ])
  )
  chmodSync(executable, 0o755)
  writeFileSync(join(dir, 'LICENSE'), 'placeholder, not Electron\n')
  return dir
}

function electronBuilder(args) {
  const result = spawnSync(process.execPath, [require.resolve('electron-builder/cli.js'), '--config', 'electron-builder.config.ts', ...args], {
    cwd: root,
    stdio: 'inherit'
  })
  return result.status ?? 1
}

/** The Electron that `npm install` put in node_modules, when its download worked: no second download. */
function installedElectron() {
  const dist = join(root, 'node_modules', 'electron', 'dist')
  const binary = { darwin: 'Electron.app', win32: 'electron.exe' }[process.platform] ?? 'electron'
  return existsSync(join(dist, binary)) ? dist : null
}

function main(argv) {
  if (argv.includes('--placeholder')) {
    const at = argv.indexOf('--out')
    const out = resolve(at >= 0 ? argv[at + 1] : join(root, 'dist', 'placeholder'))
    const electronDist = writePlaceholderElectron(join(out, 'placeholder-electron'))
    const status = electronBuilder(['--linux', 'dir', `-c.electronDist=${electronDist}`, `-c.directories.output=${out}`])
    if (status === 0) console.log(`\n${join(out, 'linux-unpacked')}: the package layout around a placeholder Electron (it does not run)`)
    return status
  }
  const electronDist = installedElectron()
  const status = electronBuilder([...(electronDist ? [`-c.electronDist=${electronDist}`] : []), '--publish', 'never', ...argv])
  if (status !== 0 && !electronDist)
    console.error(
      '\nelectron-builder needs an Electron binary: node_modules/electron has none, so it downloads one (network, or ' +
        'a copy in its cache, ~/.cache/electron). Without either, `node scripts/dist.mjs --placeholder` checks the layout.'
    )
  return status
}

process.exitCode = main(process.argv.slice(2))
