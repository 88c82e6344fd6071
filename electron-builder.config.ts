// electron-builder: the installers (`npm run dist`, for the platform it runs on) and the packaged
// app's layout. The app runs from out/ (scripts/build-node.mjs and electron-vite build it):
//   app.asar            out/main, out/preload, out/renderer, package.json (integrity-checked)
//   app.asar.unpacked   out/node (the back end and its workers) and the node_modules they import
// Worker threads and utility processes are started on real files (core/worker-scripts.ts answers
// with the unpacked path), and what such a file imports must be a real file too: its node_modules
// and the codecs' and tfjs' .wasm binaries, which are read with fs at run time.
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { FuseV1Options, FuseVersion, flipFuses, type FuseV1Config } from '@electron/fuses'
import { Arch, type AfterPackContext, type Configuration } from 'electron-builder'

const root = dirname(fileURLToPath(import.meta.url))

/**
 * Electron fuses, flipped in the packaged binary before it is signed. Every fuse is named
 * (strictlyRequireAllFuses), so an Electron upgrade that adds one fails the build until it is decided.
 */
export const FUSES = {
  version: FuseVersion.V1,
  strictlyRequireAllFuses: true,
  // ELECTRON_RUN_AS_NODE would turn the signed binary into a plain Node for any script
  [FuseV1Options.RunAsNode]: false,
  [FuseV1Options.EnableCookieEncryption]: true,
  // NODE_OPTIONS (--require …) and --inspect would inject code into the main process
  [FuseV1Options.EnableNodeOptionsEnvironmentVariable]: false,
  [FuseV1Options.EnableNodeCliInspectArguments]: false,
  // app.asar must match the hash electron-builder embeds (macOS and Windows check it)…
  [FuseV1Options.EnableEmbeddedAsarIntegrityValidation]: true,
  // …and the app is only ever loaded from it, never from a resources/app folder put beside it
  [FuseV1Options.OnlyLoadAppFromAsar]: true,
  [FuseV1Options.LoadBrowserProcessSpecificV8Snapshot]: false,
  // the renderer is served from cxr://, so file:// pages need no privileges beyond a browser's
  [FuseV1Options.GrantFileProtocolExtraPrivileges]: false,
  // Electron's default: V8's guard-page bounds checks for WebAssembly
  [FuseV1Options.WasmTrapHandlers]: true
} satisfies FuseV1Config

/** The Electron binary that holds the fuse wire, as electron-builder lays it out per platform. */
export function electronBinary(context: AfterPackContext): string {
  const { appOutDir, electronPlatformName, packager } = context
  if (electronPlatformName === 'linux') return join(appOutDir, (packager as { executableName?: string }).executableName!)
  const product = packager.appInfo.productFilename
  return join(appOutDir, electronPlatformName === 'win32' ? `${product}.exe` : `${product}.app`)
}

/** electron-builder's afterPack hook: runs after the app is copied in and before signing. */
export async function afterPack(context: AfterPackContext): Promise<void> {
  await flipFuses(electronBinary(context), {
    ...FUSES,
    // flipping fuses breaks the ad-hoc signature an arm64 Mac needs even unsigned; re-sign it
    resetAdHocDarwinSignature: context.electronPlatformName === 'darwin' && context.arch === Arch.arm64
  })
}

/**
 * Vite bundles these into out/renderer, so the packaged app never loads them from node_modules;
 * with what only they depend on, they are left out (about 90 MB, half of it echarts).
 */
export const RENDERER_BUNDLED = ['vue', 'vue-router', 'pinia', 'echarts', 'vue-echarts', 'cornerstone-core']

/**
 * Optional: they need libtensorflow, fetched at install time for one platform and Node ABI, and
 * are not rebuilt for Electron. Left out, the back end's backend ladder records them as not
 * installed and trains and predicts on the WASM backend (main/ml/backend/ladder.ts).
 */
export const LEFT_OUT_NATIVE = ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu']

/** Declared as a dependency by jpeg-lossless-decoder-js (its build tool's binary); never loaded. */
export const NOT_LOADED = ['@rollup/rollup-linux-x64-gnu']

/**
 * onnxruntime-node's binaries of other platforms and architectures (bin/napi-v6/<platform>/<arch>),
 * as electron-builder file macros: N-API binaries need no rebuild for Electron, only the right one.
 */
export const ONNXRUNTIME_OTHER_PLATFORMS = [
  '!node_modules/onnxruntime-node/bin/napi-v6/!(${platform})/**',
  '!node_modules/onnxruntime-node/bin/napi-v6/${platform}/!(${arch})/**'
]

type Manifest = { dependencies?: Record<string, string>; peerDependencies?: Record<string, string> }

function manifest(name: string): Manifest | null {
  try {
    return JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as Manifest
  } catch {
    return null
  }
}

/** `names` and everything installed that they depend on, by package name. */
function dependencyClosure(names: Iterable<string>): Set<string> {
  const seen = new Set<string>()
  const pending = [...names]
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    if (seen.has(name)) continue
    const found = manifest(name)
    if (!found) continue
    seen.add(name)
    pending.push(...Object.keys({ ...found.dependencies, ...found.peerDependencies }))
  }
  return seen
}

/** Packages only the renderer bundle needs: left out of the package. */
export function rendererOnlyPackages(): string[] {
  const declared = Object.keys((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Manifest).dependencies ?? {})
  const backEnd = dependencyClosure(declared.filter((name) => !RENDERER_BUNDLED.includes(name)))
  return [...dependencyClosure(RENDERER_BUNDLED)].filter((name) => !backEnd.has(name)).sort()
}

const config: Configuration = {
  appId: 'org.cxrstudio.desktop',
  productName: 'CXR Studio',
  copyright: 'Copyright © CXR Studio contributors',
  directories: { buildResources: 'resources', output: 'dist' },
  files: [
    'package.json',
    'out/main/**',
    'out/preload/**',
    'out/renderer/**',
    'out/node/**',
    // source maps: nothing loads them at run time (a third of node_modules' size)
    '!out/**/*.map',
    '!node_modules/**/*.map',
    ...[...rendererOnlyPackages(), ...LEFT_OUT_NATIVE, ...NOT_LOADED].map((name) => `!node_modules/${name}/**`),
    // onnxruntime-node ships its N-API binaries for every platform (290 MB): keep this build's one
    ...ONNXRUNTIME_OTHER_PLATFORMS
  ],
  asar: true,
  asarUnpack: ['out/node/**', 'node_modules/**'],
  // nothing native is packaged (tfjs-node is left out), so there is nothing to rebuild for Electron
  npmRebuild: false,
  afterPack,
  publish: null,
  icon: 'resources/icon.png',
  linux: {
    target: ['AppImage', 'deb'],
    executableName: 'cxr-studio',
    icon: 'resources/icons',
    category: 'Science;MedicalSoftware',
    synopsis: 'Chest-radiograph DICOM viewer, dataset cleaning and detector training',
    // a .deb needs a maintainer; package.json names no author
    maintainer: 'CXR Studio contributors'
  },
  win: { target: ['nsis'] },
  nsis: { oneClick: false, perMachine: false, allowToChangeInstallationDirectory: true },
  mac: { target: ['dmg'], category: 'public.app-category.medical', hardenedRuntime: true }
}

export default config
