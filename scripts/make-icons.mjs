// Draws the app icon into resources/: a chest radiograph's two lung fields on the app's dark
// background, with an amber detection box over one of them. electron-builder takes
// resources/icon.png (1024 px: macOS wants at least 512, Windows' .ico is made from it) and, for
// Linux, the sized PNGs in resources/icons/. Run `node scripts/make-icons.mjs` after changing it;
// the output is committed, so packaging never depends on this script.
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { PNG } from 'pngjs'

const resources = join(dirname(fileURLToPath(import.meta.url)), '..', 'resources')
const LINUX_SIZES = [16, 32, 48, 64, 128, 256, 512]
/** Samples per pixel side: edges are anti-aliased by coverage. */
const SUPERSAMPLE = 4

// Shapes in a unit square (0..1), each a test `inside(x, y)` and a colour [r, g, b].
const background = roundedSquare(0.04, 0.96, 0.2)
const lungs = [ellipse(0.34, 0.52, 0.15, 0.3, -0.12), ellipse(0.66, 0.52, 0.15, 0.3, 0.12)]
const box = frame(0.54, 0.36, 0.8, 0.62, 0.035)

function colourAt(x, y) {
  if (!background(x, y)) return null
  // the app's background (#0b0e12) lightening towards the top, as a lit film would
  const shade = 1 - y
  let colour = [11 + 22 * shade, 14 + 28 * shade, 18 + 40 * shade]
  if (lungs.some((inside) => inside(x, y))) colour = [168, 186, 204]
  if (box(x, y)) colour = [245, 165, 36]
  return colour
}

function roundedSquare(low, high, radius) {
  return (x, y) => {
    const cx = Math.min(Math.max(x, low + radius), high - radius)
    const cy = Math.min(Math.max(y, low + radius), high - radius)
    return x >= low && x <= high && y >= low && y <= high && (x - cx) ** 2 + (y - cy) ** 2 <= radius ** 2
  }
}

function ellipse(cx, cy, rx, ry, tilt) {
  const [cos, sin] = [Math.cos(tilt), Math.sin(tilt)]
  return (x, y) => {
    const u = (x - cx) * cos + (y - cy) * sin
    const v = -(x - cx) * sin + (y - cy) * cos
    return (u / rx) ** 2 + (v / ry) ** 2 <= 1
  }
}

function frame(x0, y0, x1, y1, stroke) {
  return (x, y) =>
    x >= x0 && x <= x1 && y >= y0 && y <= y1 && !(x > x0 + stroke && x < x1 - stroke && y > y0 + stroke && y < y1 - stroke)
}

function render(size) {
  const png = new PNG({ width: size, height: size })
  for (let row = 0; row < size; row++) {
    for (let col = 0; col < size; col++) {
      const sum = [0, 0, 0, 0]
      for (let sy = 0; sy < SUPERSAMPLE; sy++) {
        for (let sx = 0; sx < SUPERSAMPLE; sx++) {
          const colour = colourAt((col + (sx + 0.5) / SUPERSAMPLE) / size, (row + (sy + 0.5) / SUPERSAMPLE) / size)
          if (!colour) continue
          for (let c = 0; c < 3; c++) sum[c] += colour[c]
          sum[3] += 1
        }
      }
      const at = (row * size + col) * 4
      const covered = sum[3]
      // colour averaged over the covered samples, alpha = coverage (no dark fringe on light docks)
      for (let c = 0; c < 3; c++) png.data[at + c] = covered ? Math.round(sum[c] / covered) : 0
      png.data[at + 3] = Math.round((255 * covered) / SUPERSAMPLE ** 2)
    }
  }
  return PNG.sync.write(png)
}

function write(path, bytes) {
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, bytes)
  console.log(`${path} (${bytes.length} bytes)`)
}

write(join(resources, 'icon.png'), render(1024))
for (const size of LINUX_SIZES) write(join(resources, 'icons', `${size}x${size}.png`), render(size))
