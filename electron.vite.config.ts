// electron-vite builds the desktop app's three parts into out/: main (ESM), the preload (one
// CommonJS file, as a sandboxed preload must be) and the renderer (also served by the web host).
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'electron-vite'
import type { Plugin } from 'vite'
import { META_CONTENT_SECURITY_POLICY } from './common/csp'

const root = fileURLToPath(new URL('.', import.meta.url))

/**
 * Writes common/csp.ts's policy into the built index.html right after <meta charset>, ahead of any
 * script or stylesheet it governs. Build only: the dev server injects inline styles and scripts
 * that the policy refuses.
 */
export function cspMetaTag(): Plugin {
  const tag = `<meta http-equiv="Content-Security-Policy" content="${META_CONTENT_SECURITY_POLICY}" />`
  return {
    name: 'cxr-csp-meta',
    apply: 'build',
    transformIndexHtml(html) {
      const charset = /<meta charset="[^"]*"\s*\/?>/i.exec(html)
      if (!charset) throw new Error('index.html: no <meta charset> to put the CSP <meta> tag after')
      const at = charset.index + charset[0].length
      return `${html.slice(0, at)}\n    ${tag}${html.slice(at)}`
    }
  }
}

export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      rollupOptions: { input: { index: resolve(root, 'main/electron/index.ts') } }
    }
  },
  preload: {
    build: {
      outDir: 'out/preload',
      // Bundle zod and common/ into the one file: a sandboxed preload cannot require modules.
      externalizeDeps: false,
      rollupOptions: {
        input: { index: resolve(root, 'preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs', inlineDynamicImports: true }
      }
    }
  },
  renderer: {
    root: resolve(root, 'renderer'),
    base: './',
    plugins: [vue(), cspMetaTag()],
    build: {
      outDir: resolve(root, 'out/renderer'),
      emptyOutDir: true,
      chunkSizeWarningLimit: 2000,
      rollupOptions: { input: resolve(root, 'renderer/index.html') }
    }
  }
})
