import { PGlite } from '@electric-sql/pglite'
import fc from 'fast-check'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { postgresSink, versionToDecimal } from '../../src/index.js'
import { startPostgres, type TestPostgres, uniqueTable } from './postgres.js'

let postgres: TestPostgres
let pool: pg.Pool
const tables: string[] = []

beforeAll(async () => {
  postgres = await startPostgres()
  pool = new pg.Pool({ connectionString: postgres.url, max: 4 })
})

afterAll(async () => {
  for (const table of tables) await pool.query(`DROP TABLE IF EXISTS "${table}"`)
  await pool.end()
  await postgres.close()
})

async function freshSink() {
  const table = uniqueTable('wb_sink')
  tables.push(table)
  const sink = postgresSink<unknown>({ client: pool, table })
  await sink.createTable()
  return { sink, table }
}

async function rows(table: string): Promise<Record<string, { value: unknown; version: string }>> {
  const result = await pool.query(`SELECT key, value, version::text AS version FROM "${table}"`)
  return Object.fromEntries(result.rows.map((row) => [row.key, { value: row.value, version: row.version }]))
}

describe('postgresSink', () => {
  test('a replayed older write never overwrites a newer one (the version guard)', async () => {
    const { sink, table } = await freshSink()
    await sink.writeBatch([
      { key: 'a', value: { name: 'new' }, version: '1700000000001-0' },
      { key: 'b', value: 'only', version: '1700000000000-7' },
    ])
    // Same millisecond, lower sequence; then an older millisecond with a higher sequence.
    await sink.writeBatch([{ key: 'a', value: { name: 'old' }, version: '1700000000000-99' }])
    await sink.writeBatch([{ key: 'a', value: { name: 'old' }, version: '1700000000001-0' }])
    expect(await rows(table)).toEqual({
      a: { value: { name: 'new' }, version: versionToDecimal('1700000000001-0') },
      b: { value: 'only', version: versionToDecimal('1700000000000-7') },
    })
    await sink.writeBatch([{ key: 'a', value: { name: 'newer' }, version: '1700000000001-1' }])
    expect((await rows(table)).a).toEqual({
      value: { name: 'newer' },
      version: versionToDecimal('1700000000001-1'),
    })
  })

  test('whatever the order and the repeats of the batches, each row ends at its highest version', async () => {
    const { sink, table } = await freshSink()
    const write = fc.record({
      key: fc.constantFrom('x', 'y', 'z'),
      ms: fc.integer({ min: 0, max: 3 }),
      seq: fc.integer({ min: 0, max: 3 }),
      value: fc.oneof(fc.string(), fc.integer(), fc.dictionary(fc.string(), fc.string())),
    })
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(write, { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 6 }),
        async (batches) => {
          await pool.query(`TRUNCATE "${table}"`)
          const best = new Map<string, { order: number }>()
          for (const batch of batches) {
            await sink.writeBatch(
              batch.map(({ key, ms, seq, value }) => ({ key, value, version: `${ms}-${seq}` })),
            )
            for (const { key, ms, seq } of batch) {
              const order = ms * 10 + seq
              const seen = best.get(key)
              if (!seen || seen.order < order) best.set(key, { order })
            }
          }
          const stored = await rows(table)
          expect(Object.keys(stored).sort()).toEqual([...best.keys()].sort())
          for (const [key, { order }] of best) {
            expect(stored[key]!.version).toBe(versionToDecimal(`${Math.floor(order / 10)}-${order % 10}`))
            // Among equal versions the first write stays (idempotence); compare the version only then.
            const equal = batches.flat().filter((w) => w.key === key && w.ms * 10 + w.seq === order)
            expect(equal.map((w) => w.value)).toContainEqual(stored[key]!.value)
          }
        },
      ),
      { numRuns: 40, seed: 14 },
    )
  })

  test('a table or column name is checked, never pasted into SQL', async () => {
    const attempts = [
      'users; DROP TABLE users',
      'users"--',
      'a.b.c',
      '1users',
      '',
      'x'.repeat(64),
      'users ',
      'public."users"',
    ]
    for (const table of attempts) {
      expect(() => postgresSink({ client: pool, table })).toThrow(
        expect.objectContaining({ code: 'E_INVALID_OPTION' }),
      )
    }
    expect(() => postgresSink({ client: pool, table: 't', keyColumn: 'k); --' })).toThrow(
      expect.objectContaining({ code: 'E_INVALID_OPTION' }),
    )
    expect(() => postgresSink({ client: pool, table: 't', keyColumn: 'v', valueColumn: 'v' })).toThrow(
      expect.objectContaining({ code: 'E_INVALID_OPTION' }),
    )
    expect(() => postgresSink({ client: {} as never, table: 't' })).toThrow(
      expect.objectContaining({ code: 'E_INVALID_OPTION' }),
    )
    expect(postgresSink({ client: pool, table: 'public.Users_2' }).table).toBe('"public"."Users_2"')
  })

  test('works on PGlite in process and on a pg.Client, with custom columns and a text value', async () => {
    const db = new PGlite()
    const onPglite = postgresSink<string>({
      client: db,
      table: 'profiles',
      keyColumn: 'id',
      valueColumn: 'body',
      versionColumn: 'rev',
      valueType: 'text',
      toColumn: (value) => value,
    })
    await onPglite.createTable()
    await onPglite.writeBatch([
      { key: 'u1', value: "it's", version: '5-0' },
      { key: 'u1', value: 'older in the same call', version: '4-0' },
    ])
    const result = await db.query<{ id: string; body: string }>('SELECT id, body FROM profiles')
    expect(result.rows).toEqual([{ id: 'u1', body: "it's" }])
    await db.close()

    const client = new pg.Client({ connectionString: postgres.url })
    await client.connect()
    try {
      const table = uniqueTable('wb_client')
      tables.push(table)
      const sink = postgresSink({ client, table })
      await sink.createTable()
      await sink.writeBatch([{ key: 'k', value: [1, 2], version: '1-1' }])
      expect(await rows(table)).toEqual({ k: { value: [1, 2], version: versionToDecimal('1-1') } })
    } finally {
      await client.end()
    }
  })
})
