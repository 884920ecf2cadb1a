/**
 * cache-manager 7 over Keyv stores, in one run on one harness Redis: cachekit's `keyvStore` against
 * `@keyv/redis` (what cache-manager's docs use), 64 concurrent callers.
 *
 *   pnpm --filter @cachekit/bench bench:keyv [--quick]
 *
 * Like for like: both stores are Redis only (the cachekit cache has no L1 here); a row with
 * cachekit's L1 in front is shown for information. Results: results/keyv.md and .json.
 */
import { writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { type CacheEntry, createCache } from '@cachekit/core'
import { keyvStore } from '@cachekit/keyv'
import { memoryStore } from '@cachekit/memory'
import { createRedis, redisStore } from '@cachekit/redis'
import { startStandalone } from '@cachekit/redis-harness'
import { createKeyv as createKeyvRedis } from '@keyv/redis'
import { type Cache as CacheManager, createCache as createCacheManager } from 'cache-manager'
import { Keyv } from 'keyv'
import { keys as keysOf, objectOf1Kb } from '../data.js'
import { formatRatio, throughputTable } from '../report.js'
import { compare, type Measurement, type Subject } from '../timing.js'

const quick = process.argv.includes('--quick')
const KEYS = 1_000
const BATCH = 100
const TTL_MS = 3_600_000
const options = (concurrency: number) => ({
  concurrency,
  ops: quick ? 4_000 : 20_000,
  maxMs: quick ? 300 : 700,
  samples: quick ? 2 : 5,
  warmupOps: quick ? 1_000 : 5_000,
  latencyOps: quick ? 1_000 : 5_000,
})

const server = await startStandalone()
const keys = keysOf('k', KEYS)
const caches = [
  createCache({ prefix: 'kvck', l2: redisStore({ client: createRedis(server.url) }), ttl: TTL_MS }),
  createCache({
    prefix: 'kvck',
    l1: memoryStore<CacheEntry>({ maxEntries: 10_000 }),
    l2: redisStore({ client: createRedis(server.url) }),
    ttl: TTL_MS,
  }),
]
const managers: Record<string, CacheManager> = {
  ours: createCacheManager({ stores: [new Keyv({ store: keyvStore(caches[0]!) })], ttl: TTL_MS }),
  oursWithL1: createCacheManager({ stores: [new Keyv({ store: keyvStore(caches[1]!) })], ttl: TTL_MS }),
  theirs: createCacheManager({ stores: [createKeyvRedis(server.url, { namespace: 'kvr' })], ttl: TTL_MS }),
}
try {
  for (const [i, key] of keys.entries()) {
    await managers.ours!.set(key, objectOf1Kb(i))
    await managers.theirs!.set(key, objectOf1Kb(i))
  }
  const factory = async () => objectOf1Kb(0)
  const rows = (op: (manager: CacheManager, i: number) => Promise<unknown>): Subject[] => [
    { name: 'cache-manager over cachekit keyvStore', role: 'cachekit', op: (i) => op(managers.ours!, i) },
    { name: 'cache-manager over @keyv/redis', role: 'peer', op: (i) => op(managers.theirs!, i) },
    {
      name: 'cache-manager over keyvStore, cachekit L1 in front (information only)',
      role: 'cachekit',
      op: (i) => op(managers.oursWithL1!, i),
    },
  ]
  const workloads = [
    {
      id: 'get',
      title: 'get, 64 concurrent callers',
      concurrency: 64,
      op: (m: CacheManager, i: number) => m.get(keys[i % KEYS]!),
    },
    {
      id: 'mget',
      title: `mget of ${BATCH}, 8 concurrent callers`,
      concurrency: 8,
      op: (m: CacheManager, i: number) =>
        m.mget(keys.slice((i * BATCH) % KEYS, ((i * BATCH) % KEYS) + BATCH)),
    },
    {
      id: 'wrap',
      title: 'wrap of a cached key, 64 concurrent callers',
      concurrency: 64,
      op: (m: CacheManager, i: number) => m.wrap(keys[i % KEYS]!, factory, TTL_MS),
    },
  ]
  const startLoad = loadavg()[0]!
  const results: Array<{ id: string; title: string; measurements: Measurement[] }> = []
  for (const workload of workloads) {
    process.stderr.write(`[bench] keyv ${workload.id} ...\n`)
    const measurements = await compare(rows(workload.op), options(workload.concurrency))
    results.push({ id: workload.id, title: workload.title, measurements })
  }
  const endLoad = loadavg()[0]!
  const lines = [
    '# Keyv: cache-manager 7 over Keyv stores',
    '',
    `One run, one harness Redis, ${KEYS} keys of a ~1 KB object; load average ${startLoad.toFixed(2)} → ${endLoad.toFixed(2)}${quick ? ' (quick mode: fewer, shorter samples)' : ''}. Both stores are Redis only; the row with cachekit's L1 is information.`,
    'Goals: mget at least 2x @keyv/redis, get no slower.',
    '',
  ]
  for (const result of results) {
    const table = throughputTable(result.measurements)
    lines.push(
      `## ${result.title}`,
      '',
      `| ${table.columns.join(' | ')} |`,
      `| ${table.columns.map(() => '---').join(' | ')} |`,
    )
    for (const row of table.rows) lines.push(`| ${row.join(' | ')} |`)
    const ratio = result.measurements[0]!.opsPerSec / result.measurements[1]!.opsPerSec
    lines.push('', `cachekit keyvStore ÷ @keyv/redis: **${formatRatio(ratio)}**.`, '')
  }
  const out = new URL(`../../results/keyv${quick ? '-quick' : ''}`, import.meta.url).pathname
  writeFileSync(`${out}.md`, `${lines.join('\n')}\n`)
  writeFileSync(`${out}.json`, `${JSON.stringify({ load: [startLoad, endLoad], results }, null, 2)}\n`)
  process.stdout.write(`${lines.join('\n')}\n`)
} finally {
  for (const manager of Object.values(managers)) await manager.disconnect()
  await server.stop()
}
