/**
 * CPU time per operation of the Node process, for libraries of one workload, in alternating rounds:
 *
 *   node --import tsx src/cpu_per_op.ts l2-get "cachekit|raw ioredis, one MGET per tick + unpack" [rounds] [ms]
 *
 * Throughput on a shared machine moves with the neighbours' load; the CPU the process itself spent
 * per op (user + system, from `process.cpuUsage`) moves much less, so this is the tool for working
 * on a hot path while other jobs run. It is not the bench: the bench's ratios are throughput, on a
 * quiet machine. Redis' own CPU is not counted (another process).
 */
import { startStandalone } from '@cachekit/redis-harness'
import { createFixtures } from './fixtures.js'
import { singleWorkloads } from './single_workloads.js'
import { runBatch } from './timing.js'

const workloads = singleWorkloads

const [workloadId = '', names = 'cachekit', roundsArg = '7', msArg = '400'] = process.argv.slice(2)
const workload = workloads[workloadId]
if (!workload) throw new Error(`[bench] cpu_per_op: pick one of ${Object.keys(workloads).join(', ')}`)
const server = await startStandalone()
const fixtures = await createFixtures(server.url)
try {
  const made = workload.subjects(fixtures)
  const all = Array.isArray(made) ? made : made.subjects
  const chosen = names.split('|').map((name) => {
    const subject = all.find((s) => s.name === name.trim())
    if (!subject) throw new Error(`[bench] cpu_per_op: no "${name}" in ${all.map((s) => s.name).join(' | ')}`)
    return subject
  })
  const perOp = new Map<string, number[]>(chosen.map((s) => [s.name, []]))
  const wall = new Map<string, number[]>(chosen.map((s) => [s.name, []]))
  for (const subject of chosen) await runBatch(subject.op, workload.concurrency, Number.MAX_SAFE_INTEGER, 300)
  for (let round = 0; round < Number(roundsArg); round++) {
    for (const subject of chosen) {
      const before = process.cpuUsage()
      const started = process.hrtime.bigint()
      const opsPerSec = await runBatch(
        subject.op,
        workload.concurrency,
        Number.MAX_SAFE_INTEGER,
        Number(msArg),
      )
      const seconds = Number(process.hrtime.bigint() - started) / 1e9
      const cpu = process.cpuUsage(before)
      perOp.get(subject.name)!.push((cpu.user + cpu.system) / (opsPerSec * seconds))
      wall.get(subject.name)!.push(opsPerSec)
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!
  const first = median(perOp.get(chosen[0]!.name)!)
  for (const subject of chosen) {
    const cpu = median(perOp.get(subject.name)!)
    process.stdout.write(
      `${subject.name.padEnd(60)} ${cpu.toFixed(2).padStart(8)} µs CPU/op  ${(cpu / first).toFixed(2)}x first  ${Math.round(median(wall.get(subject.name)!))} ops/s\n`,
    )
  }
  if ('close' in made && typeof made.close === 'function') await made.close()
} finally {
  await fixtures.close()
  await server.stop()
}
