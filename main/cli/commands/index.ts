import type { Command } from 'commander'

type Register = (program: Command) => void

/**
 * Every `cxr-studio` command by name, in --help order, each loaded only when used: the CLI bundle
 * is split per command (scripts/build-node.mjs), so `cxr-studio index` or `decode` no longer starts
 * by loading the contract's zod schemas, the web host, tfjs' engine glue and every other command.
 * A test checks each name against the command its module registers.
 */
export const commandLoaders: ReadonlyArray<readonly [name: string, load: () => Promise<Register>]> = [
  ['start', async () => (await import('./start')).registerStart],
  ['serve', async () => (await import('./serve')).registerServe],
  ['index', async () => (await import('./index-cmd')).registerIndex],
  ['eda', async () => (await import('./eda')).registerEda],
  ['quality', async () => (await import('./quality')).registerQuality],
  ['decode', async () => (await import('./decode')).registerDecode],
  ['cache', async () => (await import('./cache')).registerCache],
  ['coco', async () => (await import('./coco')).registerCoco],
  ['yolo', async () => (await import('./yolo')).registerYolo],
  ['score', async () => (await import('./score')).registerScore],
  ['validate-submission', async () => (await import('./validate-submission')).registerValidateSubmission],
  ['demo', async () => (await import('./demo')).registerDemo],
  ['train', async () => (await import('./train')).registerTrain],
  ['evaluate', async () => (await import('./evaluate')).registerEvaluate],
  ['fit-study', async () => (await import('./fit-study')).registerFitStudy],
  ['predict', async () => (await import('./predict')).registerPredict],
  ['submit', async () => (await import('./submit')).registerSubmit],
  ['ensemble', async () => (await import('./ensemble')).registerEnsemble],
  ['import-model', async () => (await import('./import-model')).registerImportModel],
  ['export-onnx', async () => (await import('./export-onnx')).registerExportOnnx],
  ['submit-coco', async () => (await import('./submit-coco')).registerSubmitCoco],
  ['coco-results', async () => (await import('./coco-results')).registerCocoResults],
  ['pull', async () => (await import('./pull')).registerPull],
  ['pacs-search', async () => (await import('./pull')).registerPacsSearch]
]

/** Root options that take a value: their value is not the command name. */
const VALUE_OPTIONS = new Set(['--workspace'])

/**
 * The registrations `argv` needs: the named command's alone, or all of them (no command, --help,
 * an unknown name: commander then lists or suggests every command).
 */
export async function commandsFor(argv: readonly string[]): Promise<Register[]> {
  let name: string | undefined
  for (let i = 0; i < argv.length; i++) {
    if (VALUE_OPTIONS.has(argv[i])) i++
    else if (!argv[i].startsWith('-')) {
      name = argv[i]
      break
    }
  }
  const chosen = commandLoaders.filter(([command]) => command === name)
  return Promise.all((chosen.length ? chosen : commandLoaders).map(([, load]) => load()))
}
