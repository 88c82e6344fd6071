import { describe, expect, it } from 'vitest'
import { chestGeometry, lungExtent, renderChest, type Opacity } from '../../main/core/demo/phantom'
import { planDemo } from '../../main/core/demo/plan'
import { Random } from '../../main/core/demo/random'

describe('the synthetic chest', () => {
  const rows = 380
  const columns = 333
  const geometry = chestGeometry(new Random(9, 'geometry'))
  const box: Opacity = {
    x: 61.37512,
    y: 170.00431,
    width: 47.25,
    height: 80.5,
    density: 0.4,
    texture: 0.65,
    dense: false
  }
  const plain = renderChest(geometry, [], rows, columns, new Random(9, 'render'))
  const withOpacity = renderChest(geometry, [box], rows, columns, new Random(9, 'render'))

  it('draws an opacity only on pixels whose centre lies inside its box, and brightens most of the box', () => {
    let changedInside = 0
    let inside = 0
    for (let y = 0; y < rows; y++) {
      for (let x = 0; x < columns; x++) {
        const i = y * columns + x
        const isInside =
          x + 0.5 > box.x && x + 0.5 < box.x + box.width && y + 0.5 > box.y && y + 0.5 < box.y + box.height
        if (!isInside) expect(withOpacity[i], `pixel ${x},${y} outside the box changed`).toBe(plain[i])
        else {
          inside++
          expect(withOpacity[i]).toBeGreaterThanOrEqual(plain[i])
          if (withOpacity[i] - plain[i] > 0.05) changedInside++
        }
      }
    }
    expect(changedInside / inside).toBeGreaterThan(0.6)
  })

  it('has lungs darker than the mediastinum and the soft tissue beside them', () => {
    const at = (u: number, v: number) => plain[Math.floor(v * rows) * columns + Math.floor(u * columns)]
    const right = lungExtent(geometry, 'right')
    const lungCentre = at((right.u0 + right.u1) / 2, 0.45)
    expect(at(geometry.midline, 0.45)).toBeGreaterThan(lungCentre + 0.2)
    expect(at(right.u0 - 0.04, 0.45)).toBeGreaterThan(lungCentre + 0.1)
    expect(at(0.01, 0.5)).toBeLessThan(0.1) // air beside the body
  })
})

describe('the demo plan', () => {
  const plan = planDemo(42, 40, 12)
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length)

  it('gives each class its own pattern: typical bilateral and low, atypical single, dense and high', () => {
    for (const study of plan.studies) {
      const image = study.images[0]
      const centres = image.opacities.map((o) => ({
        u: (o.x + o.width / 2) / image.columns,
        v: (o.y + o.height / 2) / image.rows,
        dense: o.dense
      }))
      if (study.studyClass === 'negative') expect(centres).toEqual([])
      if (study.studyClass === 'typical') {
        expect(
          centres.some((c) => c.u < image.geometry.midline) &&
            centres.some((c) => c.u > image.geometry.midline)
        ).toBe(true)
        expect(Math.max(...centres.map((c) => c.v))).toBeGreaterThan(0.55)
      }
      if (study.studyClass === 'atypical') {
        expect(centres).toHaveLength(1)
        expect(centres[0].dense).toBe(true)
        expect(centres[0].v).toBeLessThan(0.5)
      }
      if (study.studyClass === 'indeterminate') expect(centres.length).toBeGreaterThanOrEqual(1)
    }
    const typicalV = plan.studies
      .filter((s) => s.studyClass === 'typical')
      .flatMap((s) => s.images[0].opacities.map((o) => (o.y + o.height / 2) / s.images[0].rows))
    const atypicalV = plan.studies
      .filter((s) => s.studyClass === 'atypical')
      .flatMap((s) => s.images[0].opacities.map((o) => (o.y + o.height / 2) / s.images[0].rows))
    expect(mean(typicalV)).toBeGreaterThan(mean(atypicalV) + 0.15)
  })

  it('keeps every box inside its image and inside the lung fields of its geometry', () => {
    for (const image of plan.images) {
      for (const box of image.boxes) {
        expect(box.x).toBeGreaterThanOrEqual(0)
        expect(box.y).toBeGreaterThanOrEqual(0)
        expect(box.x + box.width).toBeLessThanOrEqual(image.columns)
        expect(box.y + box.height).toBeLessThanOrEqual(image.rows)
        const cu = (box.x + box.width / 2) / image.columns
        const cv = (box.y + box.height / 2) / image.rows
        const inLung = (['right', 'left'] as const).some((side) => {
          const e = lungExtent(image.geometry, side)
          return cu > e.u0 && cu < e.u1 && cv > e.v0 && cv < e.v1
        })
        expect(inLung, `${image.imageId} box centre ${cu.toFixed(3)},${cv.toFixed(3)}`).toBe(true)
      }
    }
  })
})
