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

export const nodeBundleOptions = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  plugins: [bundleTfjsCoreDist],
  logLevel: 'warning',
  banner: {
    // Bundled ESM still needs require() for the CommonJS codec builds.
    js: "import { createRequire as __cxrCreateRequire } from 'node:module'; const require = __cxrCreateRequire(import.meta.url);"
  }
}
