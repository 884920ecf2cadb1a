import pg from 'pg'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  compareVersions,
  postgresSink,
  versionToDecimal,
  type WriteBehindEventMap,
  type WriteBehindSink,
  writeBehind,
} from '../../src/index.js'
import { onCleanup, readStream, redisClient, seededRandom, topologies, uniqueStream } from './helpers.js'
import { startPostgres, type TestPostgres, uniqueTable } from './postgres.js'

let postgres: TestPostgres
let pool: pg.Pool
const tables: string[] = []

beforeAll(async () => {
  postgres = await startPostgres()
  pool = new pg.Pool({ connectionString: postgres.url, max: 2 })
})

afterAll(async () => {
  for (const table of tables) await pool.query(`DROP TABLE IF EXISTS "${table}"`)
  await pool.end()
  await postgres.close()
})

async function table(): Promise<string> {
  const name = uniqueTable('wb_fail')
  tables.push(name)
  await postgresSink({ client: pool, table: name }).createTable()
  return name
}

async function rowVersions(name: string): Promise<Map<string, string>> {
  const result = await pool.query<{ key: string; version: string }>(
    `SELECT key, version::text AS version FROM "${name}"`,
  )
  return new Map(result.rows.map((row) => [row.key, row.version]))
}

describe.each(topologies)('a failing sink on %s', (topology) => {
  test('a sink failing a third of its calls: retries, then dead letters, and every entry is in the sink or the dead-letter stream', async () => {
    const client = redisClient(topology)
    const stream = uniqueStream()
    const name = await table()
    const postgresRows = postgresSink<{ n: number }>({ client: pool, table: name })
    const random = seededRandom(14)
    let calls = 0
    let failures = 0
    const flaky: WriteBehindSink<{ n: number }> = {
      async writeBatch(records) {
        calls++
        if (random() < 1 / 3) {
          failures++
          throw new Error('injected sink failure')
        }
        await postgresRows.writeBatch(records)
      },
    }
    const retries: Array<WriteBehindEventMap['retry']> = []
    const deadLetters: Array<WriteBehindEventMap['deadLetter']> = []
    const writer = writeBehind<{ n: number }>({
      client,
      stream,
      sink: flaky,
      consume: false,
      trimAcknowledged: false,
      closeClient: false,
    })
    onCleanup(() => writer.close())
    for (let n = 0; n < 3_000; n++) await writer.write(`k${n % 300}`, { n })
    const consumer = writeBehind<{ n: number }>({
      client,
      stream,
      sink: flaky,
      batchSize: 8,
      maxAttempts: 2,
      retryDelay: '1ms',
      maxRetryDelay: '4ms',
      trimAcknowledged: false,
      closeClient: false,
      on: { retry: (event) => retries.push(event), deadLetter: (event) => deadLetters.push(event) },
    })
    onCleanup(() => consumer.close())
    await writer.flush()

    const entries = await readStream(client, stream)
    const dead = await readStream(client, `${stream}:dlq`)
    const deadById = new Map(dead.map(({ fields }) => [fields.id!, fields]))
    const versions = await rowVersions(name)
    let inSink = 0
    for (const { id, fields } of entries) {
      const letter = deadById.get(id)
      if (letter) {
        expect(letter).toMatchObject({ k: fields.k, v: fields.v, error: 'injected sink failure', stream })
        expect(Number(letter.attempts)).toBeGreaterThanOrEqual(2)
        continue
      }
      // In the sink: its key's row holds this write or a later one.
      const stored = versions.get(fields.k!)
      expect(stored, `entry ${id} is neither in the sink nor dead-lettered`).toBeDefined()
      expect(BigInt(stored!) >= BigInt(versionToDecimal(id))).toBe(true)
      inSink++
    }
    expect(failures).toBeGreaterThan(calls / 5)
    expect(retries.length).toBeGreaterThan(0)
    expect(dead.length).toBeGreaterThan(0)
    expect(deadLetters.map(({ id }) => id).sort(compareVersions)).toEqual(
      [...deadById.keys()].sort(compareVersions),
    )
    expect(inSink + dead.length).toBe(3_000)
    expect(consumer.stats()).toMatchObject({
      flushed: inSink,
      deadLettered: dead.length,
      retries: retries.length,
    })
    expect(await client.xpending(stream, 'cachekit-write-behind')).toEqual([0, null, null, null])
  })

  test('one record the sink always refuses ends alone in the dead-letter stream; the rest of its batch is written', async () => {
    const client = redisClient(topology)
    // No hash tag: on a cluster the dead-letter stream lives on another slot than the stream.
    const stream = uniqueStream().replace(/[{}]/g, '')
    const name = await table()
    const postgresRows = postgresSink<{ n: number }>({ client: pool, table: name })
    const refusing: WriteBehindSink<{ n: number }> = {
      async writeBatch(records) {
        if (records.some(({ key }) => key === 'poison')) throw new Error('violates a constraint')
        await postgresRows.writeBatch(records)
      },
    }
    const writer = writeBehind<{ n: number }>({
      client,
      stream,
      sink: refusing,
      consume: false,
      closeClient: false,
    })
    onCleanup(() => writer.close())
    for (let n = 0; n < 100; n++) await writer.write(n === 37 ? 'poison' : `k${n}`, { n })
    const consumer = writeBehind<{ n: number }>({
      client,
      stream,
      sink: refusing,
      batchSize: 100,
      maxAttempts: 3,
      retryDelay: '1ms',
      maxRetryDelay: '2ms',
      closeClient: false,
    })
    onCleanup(() => consumer.close())
    await writer.flush()
    const dead = await readStream(client, `${stream}:dlq`)
    expect(dead.map(({ fields }) => [fields.k, fields.v, fields.error])).toEqual([
      ['poison', '{"n":37}', 'violates a constraint'],
    ])
    expect((await rowVersions(name)).size).toBe(99)
    expect(consumer.stats()).toMatchObject({ flushed: 99, deadLettered: 1 })
  })
})
