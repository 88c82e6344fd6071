// esbuild options shared by the Node bundles: the product's (scripts/build-node.mjs) and the
// benchmarks' drivers, so a benchmark always runs the code the way the CLI and workers run it.
import { createRequire } from 'node:module'

const requireFromHere = createRequire(import.meta.url)

/**
 * tfjs-core's files under dist/ (the gradient and chained-op registrations) are ESM with
 * extensionless imports Node cannot load from node_modules, so they are bundled (they share tfjs'
 * global engine with the external package); see main/ml/model/gradients.ts.
 */
const bundleTfjsCoreDist = {
  name: 'bundle-tfjs-core-dist',
  setup(b) {
    b.onResolve({ filter: /^@tensorflow\/tfjs-core\/dist\// }, (a) => ({
      path: requireFromHere.resolve(a.path.endsWith('.js') ? a.path : `${a.path}.js`)
    }))
  }
}

/**
 * Pure-JS packages bundled into each entry, with their own dependencies: the CLI imported them from
 * node_modules as ~150 separate ES/CommonJS modules (zod alone is dozens), and resolving, lexing and
 * compiling those was most of its 0.4 s start-up before any work, measured under `cxr-studio index`.
 */
const BUNDLED_PACKAGES = new Set([
  'zod',
  'commander',
  'dicom-parser',
  'csv-parse',
  'cli-progress',
  'lru-cache',
  'pngjs'
])
/** Never bundled: native or WASM files beside their JS, tfjs' one global engine, optional native add-ons. */
const ALWAYS_EXTERNAL =
  /^(@tensorflow|@cornerstonejs|onnxruntime|electron|ws|bufferutil|utf-8-validate|esbuild)(\/|$)/
const packageName = (path) =>
  path
    .split('/')
    .slice(0, path.startsWith('@') ? 2 : 1)
    .join('/')
const bundlePureJsPackages = {
  name: 'bundle-pure-js-packages',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (a) => {
      if (a.kind === 'entry-point') return undefined
      if (a.path.startsWith('node:') || ALWAYS_EXTERNAL.test(a.path)) return { external: true }
      // a dependency of a bundled package (tfjs-core's bundled dist files keep theirs external)
      const fromBundled =
        /[\\/]node_modules[\\/]/.test(a.importer) &&
        !/[\\/]node_modules[\\/]@tensorflow[\\/]/.test(a.importer)
      return BUNDLED_PACKAGES.has(packageName(a.path)) || fromBundled ? undefined : { external: true }
    })
  }
}

export const nodeBundleOptions = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  plugins: [bundleTfjsCoreDist, bundlePureJsPackages],
  logLevel: 'warning',
  banner: {
    // Bundled ESM still needs require() for the CommonJS codec builds.
    js: "import { createRequire as __cxrCreateRequire } from 'node:module'; const require = __cxrCreateRequire(import.meta.url);"
  }
}
