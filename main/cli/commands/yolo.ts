import type { Command } from 'commander'
import { exportYolo } from '../../core/export/yolo'
import { addExportOptions, runExportCommand, type ExportCliOptions } from './coco'

export function registerYolo(program: Command): void {
  const command = program
    .command('yolo')
    .description(
      'export the kept train images of a Kaggle folder for Ultralytics YOLO (images/, labels/, dataset.yaml), split by study'
    )
    .argument('<dir>', 'Kaggle dataset folder')
  addExportOptions(command, 'image format (default png8; YOLO always needs images)')
  command.action((dir: string, options: ExportCliOptions, cmd: Command) =>
    runExportCommand(dir, { ...options, images: options.images ?? 'png8' }, cmd, exportYolo)
  )
}
