// The part of cornerstone-core 2.6 the viewer uses (the package ships no types).
declare module 'cornerstone-core' {
  export interface Voi {
    windowWidth: number
    windowCenter: number
  }
  export interface VoiLut {
    firstValueMapped: number
    numBitsPerEntry: number
    lut: number[]
  }
  export interface Viewport {
    scale: number
    translation: { x: number; y: number }
    voi: Voi
    invert: boolean
    pixelReplication: boolean
    rotation: number
    hflip: boolean
    vflip: boolean
    voiLUT?: VoiLut
  }
  export interface Image {
    imageId: string
    minPixelValue: number
    maxPixelValue: number
    slope: number
    intercept: number
    windowCenter: number
    windowWidth: number
    getPixelData(): ArrayLike<number>
    rows: number
    columns: number
    height: number
    width: number
    color: boolean
    rgba?: boolean
    columnPixelSpacing: number
    rowPixelSpacing: number
    invert: boolean
    sizeInBytes: number
    voiLUT?: VoiLut
  }
  export interface EnabledElement {
    element: HTMLElement
    canvas: HTMLCanvasElement
    image?: Image
    viewport?: Viewport
  }
  export interface ImageRenderedDetail {
    element: HTMLElement
    viewport: Viewport
    image: Image
    enabledElement: EnabledElement
    canvasContext: CanvasRenderingContext2D
    renderTimeInMs: number
  }
  export const EVENTS: { IMAGE_RENDERED: string; IMAGE_LOADED: string; IMAGE_CACHE_PROMISE_REMOVED: string }
  export function enable(element: HTMLElement, options?: object): void
  export function disable(element: HTMLElement): void
  export function resize(element: HTMLElement, forceFitToWindow?: boolean): void
  export function fitToWindow(element: HTMLElement): void
  export function reset(element: HTMLElement): void
  export function displayImage(element: HTMLElement, image: Image, viewport?: Partial<Viewport>): void
  export function getViewport(element: HTMLElement): Viewport | undefined
  export function setViewport(element: HTMLElement, viewport: Partial<Viewport>): void
  export function getDefaultViewportForImage(element: HTMLElement, image: Image): Viewport
  export function getEnabledElement(element: HTMLElement): EnabledElement
  export function setToPixelCoordinateSystem(
    enabledElement: EnabledElement,
    context: CanvasRenderingContext2D,
    scale?: number
  ): void
  export function pixelToCanvas(
    element: HTMLElement,
    point: { x: number; y: number }
  ): { x: number; y: number }
  export function updateImage(element: HTMLElement, invalidated?: boolean): void
  export function registerImageLoader(
    scheme: string,
    loader: (imageId: string, options?: object) => { promise: Promise<Image>; cancelFn?: () => void }
  ): void
  export function loadAndCacheImage(imageId: string, options?: object): Promise<Image>
  export const imageCache: {
    setMaximumSizeBytes(bytes: number): void
    purgeCache(): void
    getCacheInfo(): { maximumSizeInBytes: number; cacheSizeInBytes: number; numberOfImagesCached: number }
    getImageLoadObject(imageId: string): { promise: Promise<Image> } | undefined
  }
  const cornerstone: {
    EVENTS: typeof EVENTS
    enable: typeof enable
    disable: typeof disable
    resize: typeof resize
    fitToWindow: typeof fitToWindow
    reset: typeof reset
    displayImage: typeof displayImage
    getViewport: typeof getViewport
    setViewport: typeof setViewport
    getDefaultViewportForImage: typeof getDefaultViewportForImage
    getEnabledElement: typeof getEnabledElement
    setToPixelCoordinateSystem: typeof setToPixelCoordinateSystem
    pixelToCanvas: typeof pixelToCanvas
    updateImage: typeof updateImage
    registerImageLoader: typeof registerImageLoader
    loadAndCacheImage: typeof loadAndCacheImage
    imageCache: typeof imageCache
  }
  export default cornerstone
}
