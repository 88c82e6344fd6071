import type { Command } from 'commander'
import { resolve } from 'node:path'
import { PNG } from 'pngjs'
import { hasIntegralRescale, modalityValues, renderDisplay } from '../../../common/pixels'
import { decodeFile } from '../../core/dicom/decode'
import { encodeNpy } from '../../core/dicom/npy'
import { UserError } from '../../core/errors'
import { writeFileAtomic } from '../../core/fs-atomic'
import { assertOutputAllowed, inputSource } from '../../core/write-target'
import { printJson } from '../context'

interface DecodeOptions {
  npy?: string
  display?: boolean
  json?: boolean
}

export function registerDecode(program: Command): void {
  program
    .command('decode')
    .description(
      'decode frame 0 of a DICOM file to NumPy .npy: modality values, or with --display the 8-bit display image'
    )
    .argument('<file>', 'DICOM file')
    .requiredOption(
      '--npy <out>',
      'output .npy (int32 when RescaleSlope/Intercept are integers, else float32); with --display, a .png name writes a PNG'
    )
    .option(
      '--display',
      'write the display image instead: VOI (file window, VOI LUT, else 0.5-99.5 percentiles), MONOCHROME1 inverted, uint8'
    )
    .option('--json', 'print a JSON summary of what was written')
    .action(async (file: string, options: DecodeOptions) => {
      const out = resolve(options.npy!)
      const png = /\.png$/i.test(out)
      if (png && !options.display)
        throw new UserError(
          `${options.npy}: PNG output is for the display image; add --display or write .npy`
        )
      await assertOutputAllowed(out, [inputSource(resolve(file))])
      const image = await decodeFile(resolve(file), file)
      const shape = [image.rows, image.columns]
      let dtype: string
      if (options.display) {
        const display = renderDisplay(image)
        dtype = 'uint8'
        if (png) {
          const encoded = PNG.sync.write(
            Object.assign(new PNG({ width: image.columns, height: image.rows }), {
              data: Buffer.from(display.buffer, display.byteOffset, display.byteLength)
            }),
            {
              colorType: 0,
              inputColorType: 0,
              inputHasAlpha: false
            }
          )
          await writeFileAtomic(out, encoded)
        } else {
          await writeFileAtomic(out, encodeNpy(display, shape))
        }
      } else {
        const values = modalityValues(image)
        dtype = hasIntegralRescale(image) ? 'int32' : 'float32'
        await writeFileAtomic(out, encodeNpy(values, shape))
      }
      const summary = {
        file,
        output: out,
        format: png ? 'png' : 'npy',
        dtype,
        shape,
        transferSyntaxUid: image.transferSyntaxUid,
        photometric: image.photometric
      }
      if (options.json) printJson(summary)
      else
        process.stdout.write(
          `${file}: ${image.columns}x${image.rows} ${image.photometric} -> ${out} (${summary.format} ${dtype})\n`
        )
    })
}
