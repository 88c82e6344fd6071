import { Option, type Command } from 'commander'
import { resolve } from 'node:path'
import { printJson } from '../context'

interface ExportOnnxOptions {
  out: string
  checkpoint?: 'best' | 'last'
  json?: boolean
}

export function registerExportOnnx(program: Command): void {
  program
    .command('export-onnx')
    .description(
      "write a trained run's detector as an ONNX model (opset 13) for other tools: input images " +
        '[batch, S, S, 1] in [0, 1]; outputs class logits, box regression (and FCOS centre-ness), study and none logits, and their scores'
    )
    .argument('<run>', 'run folder written by `cxr-studio train`')
    .requiredOption('--out <file>', 'ONNX model to write (e.g. model.onnx)')
    .addOption(
      new Option('--checkpoint <which>', 'checkpoint of the run (default best, else last)').choices([
        'best',
        'last'
      ])
    )
    .option('--json', 'print the result as JSON')
    .action(async (run: string, options: ExportOnnxOptions) => {
      // loaded here: the export needs tfjs and the model code, which --help should not start
      const { exportRunOnnx } = await import('../../ml/onnx/export-run')
      const result = await exportRunOnnx(resolve(run), resolve(options.out), {
        checkpoint: options.checkpoint
      })
      if (options.json) {
        printJson(result)
        return
      }
      process.stdout.write(
        `${result.out}: ${result.head} + ${result.backbone} at ${result.imageSize} px from the ${result.checkpoint.name} checkpoint ` +
          `(epoch ${result.checkpoint.epoch}), ${(result.bytes / 1e6).toFixed(1)} MB\n` +
          `input ${result.inputName} [batch, ${result.imageSize}, ${result.imageSize}, 1]; outputs ${result.outputNames.join(', ')}\n` +
          (result.loadCheck.loaded
            ? `checked: loads in ${result.loadCheck.by}\n`
            : `not checked (${result.loadCheck.by})\n`)
      )
    })
}
