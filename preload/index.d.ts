// What the preload puts on `window` (the renderer's only view of it; see tsconfig.web.json).
import type { CxrApi } from '../common/contract/client'

declare global {
  interface Window {
    /** Present inside the Electron app; absent in a browser, where the client talks HTTP instead. */
    cxr?: CxrApi
  }
}

export {}
