// `npm audit` of what the app ships (production dependencies), for CI. A registry that does not
// answer audits (a mirror, an offline machine) is said in one line and not a failure; a known high
// or critical vulnerability is.
import { spawnSync } from 'node:child_process'

const result = spawnSync('npm', ['audit', '--omit=dev', '--json'], { encoding: 'utf8', timeout: 120_000 })
let report = null
try {
  report = JSON.parse(result.stdout)
} catch {
  // no JSON at all: the registry or the network did not answer
}
// a report has metadata; anything else is the registry's refusal (e.g. 405 from a mirror) or silence
if (!report?.metadata) {
  const why =
    [report?.error?.summary, report?.message, ...result.stderr.trim().split('\n').reverse()].find(
      (text) => typeof text === 'string' && text.trim() && !text.includes('complete log')
    ) ?? 'no answer'
  process.stdout.write(`npm audit skipped: the registry does not answer audits here (${why})\n`)
  process.exit(0)
}
const counts = report.metadata?.vulnerabilities ?? {}
const serious = (counts.high ?? 0) + (counts.critical ?? 0)
process.stdout.write(
  `npm audit (production dependencies): ${Object.entries(counts)
    .map(([level, n]) => `${n} ${level}`)
    .join(', ')}\n`
)
if (serious > 0) {
  for (const [name, v] of Object.entries(report.vulnerabilities ?? {}))
    if (v.severity === 'high' || v.severity === 'critical')
      process.stdout.write(`  ${v.severity}: ${name} (${v.range})\n`)
  process.exit(1)
}
