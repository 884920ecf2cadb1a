/**
 * The cost of @cachekit/monitoring on the cache it watches: L1 get and L2 get with `cacheMetrics`
 * and an `operationLog` attached (tracing channels subscribed) against the same cache with nothing
 * attached, in one run, samples alternating. Monitoring is attached before each "on" sample and
 * detached after it, because the tracing channels are process-wide: leaving them subscribed would
 * make the "off" samples pay too.
 *
 * `pnpm --filter @cachekit/bench bench:monitoring [--quick]`
 */
import { writeFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { type CacheEntry, createCache } from '@cachekit/core'
import { memoryStore } from '@cachekit/memory'
import { cacheMetrics, operationLog } from '@cachekit/monitoring'
import { createRedis, redisStore } from '@cachekit/redis'
import { startStandalone } from '@cachekit/redis-harness'
import { Registry } from 'prom-client'
import { formatOps, formatRatio } from '../report.js'
import { median, runBatch } from '../timing.js'

const quick = process.argv.includes('--quick')
const samples = quick ? 3 : 7
const server = await startStandalone()
const client = createRedis(server.url)

type Row = {
  workload: string
  goal: number
  offOpsPerSec: number
  onOpsPerSec: number
  off: number[]
  on: number[]
}

async function measure(
  workload: string,
  goal: number,
  cache: ReturnType<typeof createCache>,
  op: (i: number) => unknown,
  concurrency: number,
  ops: number,
): Promise<Row> {
  const off: number[] = []
  const on: number[] = []
  await runBatch(op, concurrency, ops, 2_000) // warmup
  for (let s = 0; s < samples; s++) {
    for (const mode of s % 2 === 0 ? ['off', 'on'] : ['on', 'off']) {
      let detach = () => {}
      if (mode === 'on') {
        const metrics = cacheMetrics(cache, { registry: new Registry(), client })
        const log = operationLog(cache)
        detach = () => {
          metrics.close()
          log.close()
        }
      }
      const rate = await runBatch(op, concurrency, ops, 2_000)
      detach()
      ;(mode === 'on' ? on : off).push(rate)
    }
  }
  return { workload, goal, offOpsPerSec: median(off), onOpsPerSec: median(on), off, on }
}

const prefix = `bench-monitoring:${process.pid}`
const l1Cache = createCache({ prefix: `${prefix}:l1`, l1: memoryStore<CacheEntry>({ maxEntries: 10_000 }) })
for (let i = 0; i < 1_000; i++) await l1Cache.set(`k${i}`, { id: i, name: `user ${i}` })
const l2Cache = createCache({ prefix: `${prefix}:l2`, l2: redisStore({ client, closeClient: false }) })
for (let i = 0; i < 1_000; i++) await l2Cache.set(`k${i}`, { id: i, name: `user ${i}` })

const rows = [
  await measure(
    'L1 get (hit)',
    0.25,
    l1Cache,
    (i) => l1Cache.get(`k${i % 1_000}`),
    1,
    quick ? 200_000 : 1_000_000,
  ),
  await measure(
    'L2 get (hit, Redis)',
    0.05,
    l2Cache,
    (i) => l2Cache.get(`k${i % 1_000}`),
    16,
    quick ? 20_000 : 60_000,
  ),
]
await l1Cache.close()
await l2Cache.close()
client.disconnect()
await server.stop()

const lines = [
  '# Monitoring cost',
  '',
  `Node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}, ${new Date().toISOString()}${quick ? ', --quick' : ''}.`,
  'Median ops/s of alternating samples; "on" = cacheMetrics (with Redis INFO client) + operationLog attached.',
  '',
  '| workload | off | on | on / off | goal (loss at most) |',
  '| --- | ---: | ---: | ---: | ---: |',
  ...rows.map(
    (r) =>
      `| ${r.workload} | ${formatOps(r.offOpsPerSec)} | ${formatOps(r.onOpsPerSec)} | ${formatRatio(r.onOpsPerSec / r.offOpsPerSec)} | ${Math.round(r.goal * 100)} % ${r.onOpsPerSec / r.offOpsPerSec >= 1 - r.goal ? 'met' : 'missed'} |`,
  ),
  '',
]
const dir = join(import.meta.dirname, '..', '..', 'results')
writeFileSync(join(dir, 'monitoring.md'), lines.join('\n'))
writeFileSync(join(dir, 'monitoring.json'), `${JSON.stringify({ quick, samples, rows }, null, 2)}\n`)
console.log(lines.join('\n'))
