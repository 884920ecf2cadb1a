/**
 * Write-behind on one harness Redis, flushing to Postgres (`DATABASE_URL`, else PGlite in process):
 *
 *   pnpm --filter @cachekit/bench bench:write-behind [--quick]
 *
 * 1. Throughput of `write` at 64 concurrent callers, its consumer flushing in the same process,
 *    against the raw reference (a bare XADD MAXLEN ~, the least a durable write can cost) and
 *    against writing through to Postgres (one upsert per write, what write-behind spares a caller).
 * 2. A steady 5,000 writes/s for 10 s: write latency, the lag sampled every 100 ms, and the time
 *    to drain after the last write; then every key's row is checked against its last write.
 *
 * Results: results/write-behind.md.
 */
import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { type PostgresQueryable, postgresSink, versionToDecimal, writeBehind } from '@cachekit/patterns'
import { createRedis } from '@cachekit/redis'
import { startStandalone } from '@cachekit/redis-harness'
import { PGlite } from '@electric-sql/pglite'
import pg from 'pg'
import { formatOps, formatUs } from '../report.js'
import { compare, type Measurement } from '../timing.js'
import { steadyLoad } from './steady.js'

const quick = process.argv.includes('--quick')
const KEYS = 5_000
const RATE = 5_000
const SECONDS = quick ? 2 : 10
const throughputOptions = {
  concurrency: 64,
  ops: quick ? 5_000 : 20_000,
  maxMs: quick ? 300 : 1_000,
  samples: quick ? 2 : 5,
  warmupOps: quick ? 2_000 : 5_000,
  latencyOps: quick ? 2_000 : 10_000,
}

/** `DATABASE_URL` when set, else PGlite in this process (it then shares this process' CPU). */
async function openPostgres(): Promise<{ client: PostgresQueryable; kind: string; close(): Promise<void> }> {
  const url = process.env.DATABASE_URL
  if (url) {
    const pool = new pg.Pool({ connectionString: url, max: 8 })
    return { client: pool, kind: `Postgres at DATABASE_URL (pg.Pool, max 8)`, close: () => pool.end() }
  }
  const db = await PGlite.create()
  return { client: db, kind: 'PGlite 0.5 in this process (no DATABASE_URL)', close: () => db.close() }
}

const server = await startStandalone()
const redis = createRedis(server.url)
const postgres = await openPostgres()
const suffix = randomBytes(4).toString('hex')
const tables = [`wb_bench_${suffix}`, `wb_bench_through_${suffix}`, `wb_bench_steady_${suffix}`]
const value = (n: number) => ({ n, name: `user ${n}`, plan: n % 3 === 0 ? 'pro' : 'free' })
try {
  const [behindTable, throughTable, steadyTable] = tables as [string, string, string]
  const behindSink = postgresSink({ client: postgres.client, table: behindTable })
  const throughSink = postgresSink({ client: postgres.client, table: throughTable })
  const steadySink = postgresSink<{ n: number }>({ client: postgres.client, table: steadyTable })
  for (const sink of [behindSink, throughSink, steadySink]) await sink.createTable()

  const queue = writeBehind({
    client: redis,
    stream: `bench:wb:${suffix}`,
    sink: behindSink,
    batchSize: 500,
    flushInterval: '50ms',
    closeClient: false,
  })
  await queue.ready()
  const rawStream = `bench:raw:${suffix}`
  let throughVersion = 0
  process.stderr.write('[bench] write-behind throughput ...\n')
  const measurements: Measurement[] = await compare(
    [
      {
        name: 'cachekit writeBehind().write',
        role: 'cachekit',
        op: (i) => queue.write(`k${i % KEYS}`, value(i)),
        note: 'XADD MAXLEN ~ per write; its consumer flushes to Postgres in the same process (batchSize 500, flushInterval 50ms)',
      },
      {
        name: 'raw ioredis XADD MAXLEN ~',
        role: 'raw',
        reference: true,
        op: (i) =>
          redis.xadd(
            rawStream,
            'MAXLEN',
            '~',
            1_000_000,
            '*',
            'k',
            `k${i % KEYS}`,
            'v',
            JSON.stringify(value(i)),
          ),
      },
      {
        name: 'write-through: one Postgres upsert per write',
        role: 'raw',
        op: (i) =>
          throughSink.writeBatch([
            { key: `k${i % KEYS}`, value: value(i), version: `${++throughVersion}-0` },
          ]),
        note: "postgresSink's statement with one row, awaited by the caller: what write-behind takes off the request path",
      },
    ],
    throughputOptions,
  )
  const drainStart = performance.now()
  await queue.flush()
  const drainMs = performance.now() - drainStart
  const throughputStats = queue.stats()
  await queue.close()

  process.stderr.write(`[bench] steady ${RATE} writes/s for ${SECONDS} s ...\n`)
  const steadyQueue = writeBehind<{ n: number }>({
    client: redis,
    stream: `bench:wb-steady:${suffix}`,
    sink: steadySink,
    batchSize: 500,
    flushInterval: '50ms',
    closeClient: false,
  })
  await steadyQueue.ready()
  const startLoad = loadavg()[0]!
  const steady = await steadyLoad(steadyQueue, { rate: RATE, seconds: SECONDS, keys: KEYS, sampleMs: 100 })
  const steadyStats = steadyQueue.stats()
  await steadyQueue.close()
  const endLoad = loadavg()[0]!

  // Every key's row is its last write: the run is only worth reporting if nothing was lost.
  const { rows } = (await postgres.client.query(
    `SELECT key, version::text AS version FROM "${steadyTable}"`,
  )) as {
    rows: Array<{ key: string; version: string }>
  }
  const stored = new Map(rows.map((row) => [row.key, row.version]))
  let mismatched = 0
  for (const [key, { version }] of steady.last)
    if (stored.get(key) !== versionToDecimal(version)) mismatched++

  const [ours, raw, through] = measurements as [Measurement, Measurement, Measurement]
  const lines = [
    '# Write-behind: Redis Streams to Postgres',
    '',
    `One run: a harness Redis (${server.url.replace(/:\d+$/, ':<port>')}), ${postgres.kind}, ${cpus().length} cores, load average ${startLoad.toFixed(2)} → ${endLoad.toFixed(2)}${quick ? ' (quick mode: fewer, shorter samples)' : ''}.`,
    '',
    '```sh',
    `${process.env.DATABASE_URL ? 'DATABASE_URL=postgres://… ' : ''}pnpm --filter @cachekit/bench bench:write-behind${quick ? ' --quick' : ''}`,
    '```',
    '',
    `## Throughput of \`write\`, ${throughputOptions.concurrency} concurrent callers, ${KEYS} keys`,
    '',
    '| subject | ops/s | p50 | p99 | ÷ raw XADD |',
    '| --- | --- | --- | --- | --- |',
    ...[ours, raw, through].map(
      (m) =>
        `| ${m.name} | ${formatOps(m.opsPerSec)} | ${formatUs(m.p50Us)} | ${formatUs(m.p99Us)} | ${(m.opsPerSec / raw.opsPerSec).toFixed(2)}x |`,
    ),
    '',
    ...[ours, through].map((m) => `- ${m.name}: ${m.note}.`),
    `- After the last timed write, the queue drained to Postgres in ${drainMs.toFixed(0)} ms. Over the whole run: ${throughputStats.written} writes, ${throughputStats.batches} sink calls, ${throughputStats.flushed} entries flushed (coalesced per key within each batch), ${throughputStats.retries} retries, ${throughputStats.deadLettered} dead letters.`,
    '',
    `## A steady ${RATE} writes/s for ${SECONDS} s, ${KEYS} keys`,
    '',
    '| writes | achieved writes/s | write p50 | write p99 | lag p50 | lag p99 | lag max | drain after the last write |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    `| ${steady.written} | ${formatOps(steady.achieved)} | ${formatUs(steady.writeP50Us)} | ${formatUs(steady.writeP99Us)} | ${steady.lagP50} | ${steady.lagP99} | ${steady.lagMax} | ${steady.drainMs.toFixed(0)} ms |`,
    '',
    `- Lag: entries not yet acknowledged (undelivered plus pending), from \`lag()\` (XINFO GROUPS) every 100 ms; at ${RATE}/s, ${steady.lagP99} entries is ${((steady.lagP99 / RATE) * 1000).toFixed(0)} ms behind.`,
    `- Sink: ${steadyStats.batches} calls for ${steadyStats.flushed} entries (batchSize 500, flushInterval 50ms), ${steadyStats.retries} retries, ${steadyStats.deadLettered} dead letters.`,
    `- Check: ${steady.last.size} keys, ${mismatched} rows not at their key's last write.`,
    '',
  ]
  const out = new URL(`../../results/write-behind${quick ? '-quick' : ''}.md`, import.meta.url).pathname
  writeFileSync(out, `${lines.join('\n')}\n`)
  process.stdout.write(`${lines.join('\n')}\n`)
  if (mismatched > 0) process.exitCode = 1
} finally {
  for (const table of tables)
    await postgres.client.query(`DROP TABLE IF EXISTS "${table}"`).catch(() => undefined)
  await postgres.close()
  redis.disconnect()
  await server.stop()
}
