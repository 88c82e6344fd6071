// Versions recorded with every run, so a result can be traced to the code that produced it.
import { version_core } from '@tensorflow/tfjs-core'
import { arch, platform, release } from 'node:os'
import type { BackendInfo } from '../backend/ladder'

/** Kept in step with package.json by the release process; runs and checkpoints record it. */
export const APP_VERSION = '0.1.0'

export function runVersions(backend: BackendInfo): Record<string, string> {
  return {
    app: APP_VERSION,
    node: process.versions.node,
    tfjs: version_core,
    backend: `${backend.package} ${backend.backendVersion}`,
    platform: `${platform()} ${release()} ${arch()}`
  }
}
