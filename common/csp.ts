// The one Content-Security-Policy of the renderer, whichever host serves it: the Electron app's
// cxr:// handler and the web host send it as a header, and the build writes it into
// renderer/index.html as a <meta> tag (electron.vite.config.ts), so a page opened any other way
// still carries it.

/**
 * What the built renderer needs and no more: its own scripts and styles (no inline code, no eval,
 * no WebAssembly — pixels are decoded in the back end), images drawn from canvases (data:/blob:
 * for thumbnails and chart PNGs), and calls to its own origin. CSP 3 lets 'self' match ws:/wss: on
 * the page's host and port, which is the web host's event socket; a host-specific `ws://host`
 * source would differ per request and could not go into the static <meta> tag.
 */
const DIRECTIVES: ReadonlyArray<readonly [string, string]> = [
  ['default-src', "'self'"],
  ['script-src', "'self'"],
  ['style-src', "'self'"],
  ['img-src', "'self' data: blob:"],
  ['connect-src', "'self'"],
  ['worker-src', "'none'"],
  ['object-src', "'none'"],
  ['base-uri', "'none'"],
  ['form-action', "'none'"],
  ['frame-ancestors', "'none'"]
]

/** Browsers ignore these in a <meta> policy and log an error saying so; only the header carries them. */
const HEADER_ONLY = new Set(['frame-ancestors'])

const serialize = (directives: typeof DIRECTIVES) =>
  directives.map(([name, sources]) => `${name} ${sources}`).join('; ')

/** The `Content-Security-Policy` header both hosts send with every page. */
export const CONTENT_SECURITY_POLICY = serialize(DIRECTIVES)

/** The same policy for renderer/index.html's <meta http-equiv> tag, without the header-only directives. */
export const META_CONTENT_SECURITY_POLICY = serialize(DIRECTIVES.filter(([name]) => !HEADER_ONLY.has(name)))
