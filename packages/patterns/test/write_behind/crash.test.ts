import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { startStandalone } from '@cachekit/redis-harness'
import pg from 'pg'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { postgresSink, versionToDecimal, writeBehind } from '../../src/index.js'
import { onCleanup, readStream, redisClient, uniqueStream } from './helpers.js'
import { startPostgres, type TestPostgres, uniqueTable } from './postgres.js'

const WRITES = 20_000
const KEYS = 2_000
/** Acknowledged writes seen before the kill: well into the run, with flushes under way. */
const KILL_AFTER = 15_000

let postgres: TestPostgres
let pool: pg.Pool
const table = uniqueTable('wb_crash')

beforeAll(async () => {
  postgres = await startPostgres()
  pool = new pg.Pool({ connectionString: postgres.url, max: 2 })
})

afterAll(async () => {
  await pool.query(`DROP TABLE IF EXISTS "${table}"`)
  await pool.end()
  await postgres.close()
})

type Ack = { key: string; n: number; version: string }

/**
 * Starts the writer and collects its acknowledgements; lets each of its sink calls go on, until one
 * starts after `killAfter` acknowledgements: then SIGKILLs it, that batch delivered and not written.
 */
function runWriter(
  env: Record<string, string>,
  killAfter: number,
): Promise<{ acks: Ack[]; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      fileURLToPath(new URL('child/register.mjs', import.meta.url)),
      fileURLToPath(new URL('child/writer.ts', import.meta.url)),
    ],
    { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] },
  )
  let stderr = ''
  child.stdin!.on('error', () => undefined)
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const acks: Ack[] = []
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const [word, key, n, version] = line.split(' ')
      if (word === 'ack') acks.push({ key: key!, n: Number(n), version: version! })
      else if (word === 'flushing' && acks.length < killAfter) child.stdin!.write('go\n')
      else if (word === 'flushing') child.kill('SIGKILL')
    })
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve({ acks, child })
      else reject(new Error(`the writer exited (${code}) before it was killed:\n${stderr}`))
    })
  })
}

test('a writer SIGKILLed mid-flush loses nothing: a second one claims its entries, and each row ends at the last write of its key', async () => {
  const server = await startStandalone()
  onCleanup(() => server.stop())
  const stream = uniqueStream()
  await postgresSink({ client: pool, table }).createTable()

  const { acks } = await runWriter(
    {
      REDIS_URL: server.url,
      DATABASE_URL: postgres.url,
      TABLE: table,
      STREAM: stream,
      WRITES: String(WRITES),
      KEYS: String(KEYS),
      CONCURRENCY: '32',
    },
    KILL_AFTER,
  )
  const client = redisClient({ url: server.url })
  // The kill caught the writer mid-flush: a batch it had read and not acknowledged.
  const [pendingAtKill] = (await client.xpending(stream, 'cachekit-write-behind')) as [number]
  expect(pendingAtKill).toBeGreaterThan(0)

  const second = writeBehind<{ n: number }>({
    client,
    stream,
    consumer: 'second-writer',
    sink: postgresSink({ client: pool, table }),
    claimIdle: '200ms',
    batchSize: 500,
    flushInterval: '10ms',
    trimAcknowledged: false,
    closeClient: false,
  })
  onCleanup(() => second.close())
  await second.flush()
  await second.close()
  expect(second.stats().claimed).toBeGreaterThanOrEqual(pendingAtKill)

  // What the killed writer got into Redis: every acknowledged write, and maybe a few more whose
  // XADD landed but whose `ack` line it never printed. The last of them per key is the write that
  // must win, and it is never older than the last acknowledged one.
  const entries = await readStream(client, stream)
  const byId = new Map(entries.map((entry) => [entry.id, entry]))
  for (const ack of acks) {
    expect(byId.get(ack.version)?.fields).toEqual({ k: ack.key, v: JSON.stringify({ n: ack.n }) })
  }
  const lastInStream = new Map<string, { id: string; n: number }>()
  for (const { id, fields } of entries)
    lastInStream.set(fields.k!, { id, n: (JSON.parse(fields.v!) as { n: number }).n })
  const lastAcked = new Map<string, Ack>()
  for (const ack of acks) if ((lastAcked.get(ack.key)?.n ?? -1) < ack.n) lastAcked.set(ack.key, ack)

  const result = await pool.query<{ key: string; value: { n: number }; version: string }>(
    `SELECT key, value, version::text AS version FROM "${table}"`,
  )
  const rows = new Map(result.rows.map((row) => [row.key, row]))
  expect(rows.size).toBe(lastInStream.size)
  let lost = 0
  let olderWon = 0
  for (const [key, last] of lastInStream) {
    const row = rows.get(key)
    if (!row) lost++
    else if (row.value.n !== last.n || row.version !== versionToDecimal(last.id)) olderWon++
    const acked = lastAcked.get(key)
    if (acked) expect(last.n).toBeGreaterThanOrEqual(acked.n)
  }
  expect({ lost, olderWon }).toEqual({ lost: 0, olderWon: 0 })
  expect(lastAcked.size).toBeGreaterThan(0)
  for (const key of lastAcked.keys()) expect(rows.has(key)).toBe(true)
  expect(await client.xpending(stream, 'cachekit-write-behind')).toEqual([0, null, null, null])
  expect(await client.xlen(`${stream}:dlq`)).toBe(0)
})
