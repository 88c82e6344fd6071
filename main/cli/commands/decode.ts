import type { Command } from 'commander'
import { dirname, resolve } from 'node:path'
import { PNG } from 'pngjs'
import { hasIntegralRescale, modalityValues, renderDisplay } from '../../../common/pixels'
import { decodeCached, openDecodedCache } from '../../core/dicom/decoded-cache'
import { encodeNpy } from '../../core/dicom/npy'
import { UserError } from '../../core/errors'
import { writeFileAtomic } from '../../core/fs-atomic'
import { assertOutputAllowed, inputSource } from '../../core/write-target'
import { printJson, workspaceOf } from '../context'

interface DecodeOptions {
  npy?: string
  display?: boolean
  json?: boolean
  /** commander's name for --no-cache */
  cache: boolean
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
    .option(
      '--no-cache',
      "decode the file even when the workspace's decoded-pixel cache holds it, and do not add it"
    )
    .action(async (file: string, options: DecodeOptions, command: Command) => {
      const out = resolve(options.npy!)
      const png = /\.png$/i.test(out)
      if (png && !options.display)
        throw new UserError(
          `${options.npy}: PNG output is for the display image; add --display or write .npy`
        )
      await assertOutputAllowed(out, [inputSource(resolve(file))])
      // the workspace's decoded-pixel cache: a file decoded before (here or in the app) is read back
      const cache = options.cache
        ? await openDecodedCache(workspaceOf(command), (message) => process.stderr.write(`${message}\n`))
        : null
      const decoded = await decodeCached(resolve(file), file, cache, { datasetRoot: dirname(resolve(file)) })
      const { image } = decoded
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
      // after the output: the entry is written last, and a failure to write it only costs the cache
      const cached = !cache
        ? 'off'
        : decoded.fromCache
          ? 'hit'
          : (await decoded.save?.())
            ? 'written'
            : 'not written'
      const summary = {
        file,
        cache: cached,
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
