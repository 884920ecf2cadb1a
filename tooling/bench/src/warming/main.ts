/**
 * Cache warming of 100,000 keys into a cache with a Redis L2 (harness Redis, one run): keys/s of
 * `warm` from @cachekit/patterns at concurrency 1, 8 and 64 (batches of 100 through `setMany`),
 * one row without batching (batchSize 1) to show what `setMany` buys, and raw ioredis pipelines of
 * `SET key bytes PX` as the reference (the same bytes, no cache around them).
 *
 *   pnpm --filter @cachekit/bench bench:warming [--quick]
 *
 * Each row is measured `SAMPLES` times, alternating rows, on a flushed Redis; the median is shown.
 * Results: results/warming.md (and -quick.md).
 */
import { writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { type CacheEntry, createCache } from '@cachekit/core'
import { memoryStore } from '@cachekit/memory'
import { warm } from '@cachekit/patterns'
import { createRedis, redisStore } from '@cachekit/redis'
import { startStandalone } from '@cachekit/redis-harness'
import { msgpackCodec } from '@cachekit/serializers'
import { objectOf1Kb } from '../data.js'

const quick = process.argv.includes('--quick')
const KEYS = quick ? 20_000 : 100_000
const SAMPLES = quick ? 1 : 3
const TTL_MS = 3_600_000

interface Row {
  name: string
  role: 'cachekit' | 'reference'
  run: () => Promise<void>
}

const server = await startStandalone()
const admin = createRedis(server.url)
const values = Array.from({ length: KEYS }, (_, i) => objectOf1Kb(i))
const items = values.map((value, i) => ({ key: `w:${i}`, value }))

/** A cache as an app would start it: L1 in memory in front of Redis. */
async function withCache(run: (cache: ReturnType<typeof createCache>) => Promise<void>): Promise<void> {
  const cache = createCache({
    prefix: 'warm',
    l1: memoryStore<CacheEntry>({ maxEntries: KEYS * 2 }),
    l2: redisStore({ client: createRedis(server.url) }),
    ttl: TTL_MS,
  })
  try {
    await run(cache)
  } finally {
    await cache.close()
  }
}

const warmRow = (concurrency: number, batchSize: number): Row => ({
  name: `warm, concurrency ${concurrency}, batches of ${batchSize}`,
  role: 'cachekit',
  run: () =>
    withCache(async (cache) => {
      const report = await warm(cache, [items], { concurrency, batchSize })
      if (report.done !== KEYS) throw new Error(`warmed ${report.done} of ${KEYS}`)
    }),
})

const codec = msgpackCodec()
const rawRow: Row = {
  name: 'raw ioredis: pipelines of 100 SET PX, 8 in flight (reference)',
  role: 'reference',
  run: async () => {
    const client = createRedis(server.url)
    try {
      let next = 0
      const worker = async () => {
        while (next < KEYS) {
          const from = next
          next += 100
          const pipeline = client.pipeline()
          for (let i = from; i < Math.min(from + 100, KEYS); i++) {
            pipeline.set(`raw:${i}`, Buffer.from(codec.encode(values[i]!)), 'PX', TTL_MS)
          }
          await pipeline.exec()
        }
      }
      await Promise.all(Array.from({ length: 8 }, worker))
    } finally {
      await client.quit()
    }
  },
}

const rows: Row[] = [warmRow(1, 100), warmRow(8, 100), warmRow(64, 100), warmRow(8, 1), rawRow]
const timings = new Map<Row, number[]>(rows.map((row) => [row, []]))
try {
  const startLoad = loadavg()[0]!
  for (let sample = 0; sample < SAMPLES; sample++) {
    for (const row of rows) {
      await admin.flushdb()
      process.stderr.write(`[bench] warming ${row.name} (sample ${sample + 1}/${SAMPLES}) ...\n`)
      const started = performance.now()
      await row.run()
      timings.get(row)!.push(performance.now() - started)
    }
  }
  const endLoad = loadavg()[0]!
  const median = (list: number[]) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)]!
  const reference = KEYS / (median(timings.get(rawRow)!) / 1000)
  const lines = [
    '# Cache warming: 100,000 keys into L1 + Redis L2',
    '',
    `\`pnpm --filter @cachekit/bench bench:warming${quick ? ' --quick' : ''}\`: one run, one harness Redis (standalone, local), ${KEYS.toLocaleString('en')} keys of a ~1 KB object (msgpack), ${SAMPLES} sample${SAMPLES === 1 ? '' : 's'} per row, median shown; load average ${startLoad.toFixed(2)} → ${endLoad.toFixed(2)}${quick ? ' (quick mode: fewer keys, one sample)' : ''}.`,
    'The cache writes each batch to L1, encodes it, and sends it to Redis in one round trip; the reference sends the same bytes with no cache around them.',
    '',
    '| run | role | time | keys/s | ÷ raw ioredis |',
    '| --- | --- | --- | --- | --- |',
  ]
  for (const row of rows) {
    const ms = median(timings.get(row)!)
    const rate = KEYS / (ms / 1000)
    lines.push(
      `| ${row.name} | ${row.role} | ${(ms / 1000).toFixed(2)} s | ${Math.round(rate).toLocaleString('en')} | ${(rate / reference).toFixed(2)}x |`,
    )
  }
  lines.push('')
  const out = new URL(`../../results/warming${quick ? '-quick' : ''}.md`, import.meta.url).pathname
  writeFileSync(out, `${lines.join('\n')}\n`)
  process.stdout.write(`${lines.join('\n')}\n`)
} finally {
  await admin.quit()
  await server.stop()
}
