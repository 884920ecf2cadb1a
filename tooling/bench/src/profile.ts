/**
 * Runs one library's operation of one workload in a loop for a few seconds and writes a CPU profile
 * of that loop only (fixtures excluded), in the format of `node --cpu-prof`:
 *
 *   node --import tsx src/profile.ts l2-get cachekit [seconds] [out.cpuprofile]
 *   node --import tsx src/profile_summary.ts results/l2-get-cachekit.cpuprofile
 *
 * The profile goes to results/<workload>-<library>.cpuprofile unless a path is given (git-ignored).
 *
 * Same fixtures, same op and same concurrency as the workload in `pnpm bench`.
 */
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { startStandalone } from '@cachekit/redis-harness'
import { createFixtures } from './fixtures.js'
import { singleWorkloads } from './single_workloads.js'
import { runBatch } from './timing.js'

const workloads = singleWorkloads

const [workloadId = '', library = 'cachekit', seconds = '5', outArg] = process.argv.slice(2)
const out =
  outArg ??
  new URL(`../results/${workloadId}-${library.replace(/[^a-z0-9]+/gi, '-')}.cpuprofile`, import.meta.url)
    .pathname
const workload = workloads[workloadId]
if (!workload) throw new Error(`[bench] profile: pick one of ${Object.keys(workloads).join(', ')}`)
const server = await startStandalone()
const fixtures = await createFixtures(server.url)
try {
  const made = workload.subjects(fixtures)
  const subjects = Array.isArray(made) ? made : made.subjects
  const subject = subjects.find((s) => s.name === library)
  if (!subject)
    throw new Error(`[bench] profile: no "${library}" in ${subjects.map((s) => s.name).join(', ')}`)
  // Warm the JIT first, so the profile shows the steady state.
  await runBatch(subject.op, workload.concurrency, Number.MAX_SAFE_INTEGER, 1000)
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.setSamplingInterval', { interval: 100 })
  await session.post('Profiler.start')
  const ms = Number(seconds) * 1000
  const opsPerSec = await runBatch(subject.op, workload.concurrency, Number.MAX_SAFE_INTEGER, ms)
  const { profile } = await session.post('Profiler.stop')
  session.disconnect()
  writeFileSync(out, JSON.stringify(profile))
  // How many ops the profile covers, for profile_diff.ts (µs per op, not % of a run).
  writeFileSync(`${out}.ops`, String(Math.round((opsPerSec * ms) / 1000)))
  process.stderr.write(
    `[bench] ${workloadId} / ${library}: ${Math.round(opsPerSec)} ops/s, profile in ${out}\n`,
  )
  if ('close' in made && typeof made.close === 'function') await made.close()
} finally {
  await fixtures.close()
  await server.stop()
}
