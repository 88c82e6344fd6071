// 2k × 2k 16-bit chest radiographs in the Kaggle layout, in the syntaxes the benchmark compares.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { writeDicom, type WriteSyntax } from '../../main/core/dicom/write'
import { chestGeometry, renderChest } from '../../main/core/demo/phantom'
import { toStoredPixels } from '../../main/core/demo/pixels'
import { Random } from '../../main/core/demo/random'

export interface BenchImage {
  imageId: string
  syntax: WriteSyntax
}

const hex = (n: number) => n.toString(16).padStart(12, '0')

export async function writeBenchDataset(
  root: string,
  plan: Array<{ syntax: WriteSyntax; count: number }>,
  size = 2048
): Promise<BenchImage[]> {
  const images: BenchImage[] = []
  let n = 0
  for (const { syntax, count } of plan) {
    for (let i = 0; i < count; i++, n++) {
      const random = new Random(1000 + n, 'bench')
      const density = renderChest(
        chestGeometry(random.fork('geometry')),
        [],
        size,
        size,
        random.fork('anatomy')
      )
      const format = {
        bitsAllocated: 16 as const,
        bitsStored: 16,
        photometric: 'MONOCHROME2' as const,
        window: true,
        rescale: null
      }
      const stored = toStoredPixels(density, format, random.fork('detector'))
      const [studyId, seriesId, imageId] = [hex(0xa00000 + n), hex(0xb00000 + n), hex(0xc00000 + n)]
      const bytes = await writeDicom(
        {
          rows: size,
          columns: size,
          bitsAllocated: 16,
          bitsStored: 16,
          pixelRepresentation: 0,
          photometric: 'MONOCHROME2',
          pixels: stored.pixels,
          windowCenter: stored.windowCenter,
          windowWidth: stored.windowWidth,
          studyInstanceUid: `2.25.${0xa00000 + n}`,
          seriesInstanceUid: `2.25.${0xb00000 + n}`,
          sopInstanceUid: `2.25.${0xc00000 + n}`,
          modality: 'DX'
        },
        syntax
      )
      const dir = join(root, 'train', studyId, seriesId)
      mkdirSync(dir, { recursive: true })
      writeFileSync(join(dir, `${imageId}.dcm`), bytes)
      images.push({ imageId, syntax })
    }
  }
  return images
}
