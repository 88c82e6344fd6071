import type { Command } from 'commander'
import { indexFolder } from '../../core/dicom/index-folder'
import { transferSyntaxName } from '../../core/dicom/transfer-syntax'
import { printJson, workspaceOf } from '../context'
import { stderrProgress } from '../progress'

const LISTED_ERRORS = 50

function countBy<T>(items: T[], key: (item: T) => string): Array<[string, number]> {
  const counts = new Map<string, number>()
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1)
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
}

export function registerIndex(program: Command): void {
  program
    .command('index')
    .description('index the DICOM headers of a folder (cached in the workspace by file size and mtime)')
    .argument('<dir>', 'dataset folder (Kaggle layout, or any folder of DICOMs)')
    .option('--json', 'print {"images":[...],"errors":[...]} as one JSON document')
    .action(async (dir: string, options: { json?: boolean }, command: Command) => {
      const progress = stderrProgress()
      const index = await indexFolder(dir, { workspace: workspaceOf(command), onProgress: progress }).finally(
        () => progress.stop()
      )
      if (options.json) {
        printJson({ images: index.images, errors: index.errors })
        return
      }
      const lines = [`${index.root}: ${index.images.length} images, ${index.errors.length} errors`]
      if (index.images.length) {
        lines.push('transfer syntaxes:')
        for (const [uid, n] of countBy(index.images, (i) => i.transferSyntaxUid))
          lines.push(`  ${String(n).padStart(6)}  ${transferSyntaxName(uid)} (${uid})`)
        lines.push('photometric:')
        for (const [name, n] of countBy(index.images, (i) => i.photometric))
          lines.push(`  ${String(n).padStart(6)}  ${name}`)
        lines.push('bits stored:')
        for (const [bits, n] of countBy(index.images, (i) => String(i.bitsStored)))
          lines.push(`  ${String(n).padStart(6)}  ${bits}`)
      }
      if (index.errors.length) {
        lines.push('errors:')
        for (const error of index.errors.slice(0, LISTED_ERRORS))
          lines.push(`  ${error.path}: ${error.reason}`)
        if (index.errors.length > LISTED_ERRORS)
          lines.push(`  ... and ${index.errors.length - LISTED_ERRORS} more (use --json for all)`)
      }
      process.stdout.write(lines.join('\n') + '\n')
    })
}
