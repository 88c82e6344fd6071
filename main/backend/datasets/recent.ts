// Recently opened datasets, kept in the workspace so the desktop app, the web host and the CLI agree.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { RecentDataset } from '../../../common/contract'
import { writeJsonAtomic } from '../../core/fs-atomic'

const MAX_RECENT = 12

export class RecentDatasets {
  private readonly file: string

  constructor(workspace: string) {
    this.file = join(workspace, 'recent-datasets.json')
  }

  async list(): Promise<RecentDataset[]> {
    try {
      const parsed = JSON.parse(await readFile(this.file, 'utf8')) as unknown
      return Array.isArray(parsed) ? (parsed as RecentDataset[]).filter(isRecent) : []
    } catch {
      // missing or unreadable: start a fresh list rather than block opening datasets
      return []
    }
  }

  async add(entry: RecentDataset): Promise<RecentDataset[]> {
    const list = [entry, ...(await this.list()).filter((item) => item.datasetId !== entry.datasetId)].slice(
      0,
      MAX_RECENT
    )
    await writeJsonAtomic(this.file, list)
    return list
  }

  async forget(datasetId: string): Promise<RecentDataset[]> {
    const list = (await this.list()).filter((item) => item.datasetId !== datasetId)
    await writeJsonAtomic(this.file, list)
    return list
  }
}

function isRecent(value: unknown): value is RecentDataset {
  const item = value as RecentDataset
  return (
    typeof item?.datasetId === 'string' && typeof item.root === 'string' && typeof item.openedAt === 'number'
  )
}
