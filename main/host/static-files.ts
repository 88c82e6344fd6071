// Serves the built renderer (out/renderer) read-only, with no way out of its folder.
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import type { ServerResponse } from 'node:http'
import { extname, join, normalize, sep } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { decodePathname } from './http-error'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.woff2': 'font/woff2',
  '.map': 'application/json'
}

/**
 * Returns false when there is no such file, so the caller can answer 404. A client that goes away
 * mid-file rejects (premature close) and the file is closed.
 */
export async function serveStatic(
  rendererDir: string,
  pathname: string,
  res: ServerResponse
): Promise<boolean> {
  const relative = pathname === '/' ? 'index.html' : decodePathname(pathname).replace(/^\/+/, '')
  const file = normalize(join(rendererDir, relative))
  if (!file.startsWith(normalize(rendererDir) + sep) || relative.includes('\0')) return false
  const info = await stat(file).catch(() => null)
  if (!info?.isFile()) return false
  res.statusCode = 200
  res.setHeader('content-type', TYPES[extname(file)] ?? 'application/octet-stream')
  res.setHeader('content-length', info.size)
  // Vite puts a content hash in every asset name; index.html must always be fetched fresh.
  res.setHeader(
    'cache-control',
    relative.startsWith('assets/') ? 'private, max-age=31536000, immutable' : 'no-cache'
  )
  await pipeline(createReadStream(file), res)
  return true
}
