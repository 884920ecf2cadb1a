/**
 * Rate limits on one harness Redis, in one run: @cachekit/ratelimit against rate-limiter-flexible 11
 * (RateLimiterRedis on ioredis, its documented setup), 64 concurrent callers.
 *
 *   pnpm --filter @cachekit/bench bench:ratelimit [--quick]
 *
 * Two mixes:
 * - allowed: 10,000 keys, limits never reached: every decision is a Redis round trip;
 * - over limit: 100 keys already over their limit: every decision is a denial. Ours with
 *   `localBlock` answers those in-process; rate-limiter-flexible's equivalent is
 *   `inMemoryBlockOnConsumed`, shown too.
 * Like for like: our fixed window against its fixed window. The raw reference is the least a fixed
 * window costs over ioredis: a minimal INCR + PEXPIRE script, batched as ours is (a tick's keys, 16
 * to an EVALSHA). Results: results/ratelimit.md and .json.
 */
import { writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { type Algorithm, createRateLimiter, type RateLimiter } from '@cachekit/ratelimit'
import { createRedis } from '@cachekit/redis'
import { startStandalone } from '@cachekit/redis-harness'
import { Redis } from 'ioredis'
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible'
import { formatRatio, referenceNotes, throughputTable } from '../report.js'
import { compare, type Measurement, type Subject } from '../timing.js'

const quick = process.argv.includes('--quick')
const CONCURRENCY = 64
const options = {
  concurrency: CONCURRENCY,
  ops: quick ? 4_000 : 20_000,
  maxMs: quick ? 300 : 700,
  samples: quick ? 2 : 5,
  warmupOps: quick ? 1_000 : 5_000,
  latencyOps: quick ? 1_000 : 5_000,
}
const ALLOWED_KEYS = 10_000
const OVER_KEYS = 100
const HUGE = 1_000_000_000

const server = await startStandalone()
const clients: Redis[] = []
const client = () => {
  const made = createRedis(server.url) as Redis
  clients.push(made)
  return made
}

const ours = (algorithm: Algorithm, limit: number, localBlock = false): RateLimiter =>
  createRateLimiter({
    client: client(),
    prefix: `ck-${algorithm}-${limit}-${localBlock}:`,
    onRedisDown: 'insurance',
    algorithm,
    limit,
    window: '1h',
    localBlock,
  })
const theirs = (points: number, inMemoryBlock: boolean) =>
  new RateLimiterRedis({
    storeClient: client(),
    useRedisPackage: false,
    keyPrefix: `rlflx-${points}-${inMemoryBlock}`,
    points,
    duration: 3600,
    ...(inMemoryBlock ? { inMemoryBlockOnConsumed: points, inMemoryBlockDuration: 3600 } : {}),
  })
/** rate-limiter-flexible rejects with a RateLimiterRes when over the limit: a decision, not a failure. */
const consume = (limiter: RateLimiterRedis, key: string) =>
  limiter.consume(key).catch((rejection: unknown) => {
    if (!(rejection instanceof RateLimiterRes)) throw rejection
    return rejection
  })

// The raw reference: the least a fixed window costs on ioredis (no TIME, no denial bookkeeping),
// batched as ours is: the keys of a tick, 16 to an EVALSHA.
const raw = new Redis(server.url)
clients.push(raw)
const RAW_BATCH = 16
const rawScript = `local out = {}
for i = 1, #KEYS do
  local n = redis.call('INCR', KEYS[i])
  if n == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[1]) end
  out[i] = n
end
return out`
const rawSha = (await raw.script('LOAD', rawScript)) as string
let rawQueue: Array<{ key: string; resolve: (count: number) => void; reject: (error: unknown) => void }> = []
const flushRaw = () => {
  const queued = rawQueue
  rawQueue = []
  for (let i = 0; i < queued.length; i += RAW_BATCH) {
    const batch = queued.slice(i, i + RAW_BATCH)
    ;(raw.evalsha(rawSha, batch.length, ...batch.map((q) => q.key), 3_600_000) as Promise<number[]>).then(
      (counts) => {
        for (const [j, q] of batch.entries()) q.resolve(counts[j]!)
      },
      (error: unknown) => {
        for (const q of batch) q.reject(error)
      },
    )
  }
}
const rawFixedWindow = (key: string) =>
  new Promise<number>((resolve, reject) => {
    if (rawQueue.length === 0) process.nextTick(flushRaw)
    rawQueue.push({ key, resolve, reject })
  })

const allowedKey = (i: number) => `user:${i % ALLOWED_KEYS}`
const overKey = (i: number) => `abuser:${i % OVER_KEYS}`

try {
  const open = {
    fixed: ours('fixed-window', HUGE),
    sliding: ours('sliding-window', HUGE),
    log: ours('sliding-log', 100_000),
    bucket: ours('token-bucket', HUGE),
    gcra: ours('gcra', HUGE),
    flexible: theirs(HUGE, false),
  }
  const over = {
    blocked: ours('fixed-window', 1, true),
    unblocked: ours('fixed-window', 1, false),
    gcraBlocked: ours('gcra', 1, true),
    flexible: theirs(1, false),
    flexibleBlocked: theirs(1, true),
  }
  // Every over-limit key used up before the timing starts.
  for (let i = 0; i < OVER_KEYS; i++)
    for (const limiter of [over.blocked, over.unblocked, over.gcraBlocked]) await limiter.limit(overKey(i))
  for (let i = 0; i < OVER_KEYS; i++)
    for (const limiter of [over.flexible, over.flexibleBlocked]) await consume(limiter, overKey(i))

  const workloads: Array<{ id: string; title: string; goal: string; subjects: Subject[] }> = [
    {
      id: 'allowed',
      title: `allowed mix: ${ALLOWED_KEYS} keys under their limit, ${CONCURRENCY} concurrent callers`,
      goal: 'at least 1.5x rate-limiter-flexible',
      subjects: [
        { name: 'cachekit fixed-window', role: 'cachekit', op: (i) => open.fixed.limit(allowedKey(i)) },
        {
          name: 'rate-limiter-flexible RateLimiterRedis (fixed window)',
          role: 'peer',
          op: (i) => consume(open.flexible, allowedKey(i)),
        },
        {
          name: 'raw ioredis INCR + PEXPIRE script, 16 keys to an EVALSHA',
          role: 'raw',
          reference: true,
          op: (i) => rawFixedWindow(allowedKey(i)),
        },
        { name: 'cachekit sliding-window', role: 'cachekit', op: (i) => open.sliding.limit(allowedKey(i)) },
        {
          name: 'cachekit sliding-log (limit 100,000)',
          role: 'cachekit',
          op: (i) => open.log.limit(allowedKey(i)),
        },
        { name: 'cachekit token-bucket', role: 'cachekit', op: (i) => open.bucket.limit(allowedKey(i)) },
        { name: 'cachekit gcra', role: 'cachekit', op: (i) => open.gcra.limit(allowedKey(i)) },
      ],
    },
    {
      id: 'over-limit',
      title: `over-limit mix: ${OVER_KEYS} keys over their limit, ${CONCURRENCY} concurrent callers`,
      goal: 'at least 5x rate-limiter-flexible (the local block)',
      subjects: [
        {
          name: 'cachekit fixed-window, localBlock',
          role: 'cachekit',
          op: (i) => over.blocked.limit(overKey(i)),
        },
        {
          name: 'rate-limiter-flexible RateLimiterRedis',
          role: 'peer',
          op: (i) => consume(over.flexible, overKey(i)),
        },
        {
          name: 'rate-limiter-flexible with inMemoryBlockOnConsumed',
          role: 'peer',
          op: (i) => consume(over.flexibleBlocked, overKey(i)),
        },
        {
          name: 'cachekit gcra, localBlock',
          role: 'cachekit',
          op: (i) => over.gcraBlocked.limit(overKey(i)),
        },
        {
          name: 'cachekit fixed-window, no localBlock',
          role: 'cachekit',
          op: (i) => over.unblocked.limit(overKey(i)),
        },
      ],
    },
  ]

  const startLoad = loadavg()[0]!
  const results: Array<{ id: string; title: string; goal: string; measurements: Measurement[] }> = []
  for (const workload of workloads) {
    process.stderr.write(`[bench] ratelimit ${workload.id} ...\n`)
    results.push({ ...workload, measurements: await compare(workload.subjects, options) })
  }
  const endLoad = loadavg()[0]!

  const lines = [
    '# Rate limits: @cachekit/ratelimit against rate-limiter-flexible 11',
    '',
    `One run, one harness Redis (${server.url.replace(/:\/\/.*@/, '://')}), ioredis clients; load average ${startLoad.toFixed(2)} → ${endLoad.toFixed(2)}${quick ? ' (quick mode: fewer, shorter samples)' : ''}.`,
    'Ours: Redis `TIME`, the decisions of a tick 16 to an EVALSHA. Theirs: one EVALSHA per decision (`defineCommand`).',
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
    lines.push('', ...referenceNotes(result.measurements))
    lines.push(
      `${result.measurements[0]!.name} ÷ ${result.measurements[1]!.name}: **${formatRatio(ratio)}** (goal: ${result.goal}).`,
      '',
    )
  }
  const out = new URL(`../../results/ratelimit${quick ? '-quick' : ''}`, import.meta.url).pathname
  writeFileSync(`${out}.md`, `${lines.join('\n')}\n`)
  writeFileSync(`${out}.json`, `${JSON.stringify({ load: [startLoad, endLoad], results }, null, 2)}\n`)
  process.stdout.write(`${lines.join('\n')}\n`)
} finally {
  for (const made of clients) made.disconnect()
  await server.stop()
}
