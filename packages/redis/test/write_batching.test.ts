import { randomUUID } from 'node:crypto'
import { CacheError, type StoreWrite } from '@cachekit/core'
import { type RedisServerHandle, requireTopology, startStandalone } from '@cachekit/redis-harness'
import { type Cluster, Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createRedis, RedisConnectionError, type RedisStore, redisStore } from '../src/index.js'
import { commandCalls } from './support/command_stats.js'

/** Socket reads the server has processed: a pipeline arrives in one, separate commands in one each. */
async function readsProcessed(redis: Redis): Promise<number> {
  return Number(/total_reads_processed:(\d+)/.exec(await redis.info('stats'))?.[1] ?? Number.NaN)
}

const bytes = (text: string) => Buffer.from(text)
const text = (value: Uint8Array | undefined) =>
  value === undefined ? undefined : Buffer.from(value).toString()

/** How a rejected store call failed: its code, key and the reply or connection error behind it. */
async function failure(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  )
  if (!CacheError.isInstance(error)) return { rejected: error !== undefined, error }
  return { code: error.code, key: error.key, cause: error.cause }
}

describe('writes made in one tick (standalone)', () => {
  let server: RedisServerHandle
  let raw: Redis

  beforeAll(async () => {
    // A server of its own, so its counters are this file's alone; `writer` may touch `ok:*` only.
    server = await startStandalone({ args: ['--user', 'writer', 'on', '>writer-secret', '~ok:*', '+@all'] })
    raw = new Redis(server.url)
  })

  afterAll(async () => {
    await raw.quit()
    await server.stop()
  })

  it('leave as one pipeline, each SET with its PX, and every value reads back', async () => {
    const store = redisStore({ client: createRedis(server.url), prefix: 'batch:' })
    await store.set('warm', bytes('up'))
    const sets = await commandCalls(raw, 'set')
    const reads = await readsProcessed(raw)
    await Promise.all(Array.from({ length: 50 }, (_, i) => store.set(`k${i}`, bytes(`v${i}`), 60_000)))
    // One socket read for the pipeline, one for the INFO that counts it (50 separate SETs: 16-50).
    expect((await readsProcessed(raw)) - reads).toBeLessThanOrEqual(2)
    expect((await commandCalls(raw, 'set')) - sets).toBe(50)
    expect(await raw.get('batch:k0')).toBe('v0')
    expect(await raw.get('batch:k49')).toBe('v49')
    const pttl = await raw.pttl('batch:k7')
    expect(pttl).toBeGreaterThan(50_000)
    expect(pttl).toBeLessThanOrEqual(60_000)
    expect((await Promise.all([store.get('k3'), store.get('k31')])).map(text)).toEqual(['v3', 'v31'])
    await store.close()
  })

  it('put sets, setMany and deletes of one tick in one pipeline', async () => {
    const store = redisStore({ client: createRedis(server.url), prefix: 'mixed:' })
    await store.setMany([
      { key: 'old1', value: bytes('x') },
      { key: 'old2', value: bytes('x') },
    ])
    const reads = await readsProcessed(raw)
    const [, , deleted] = await Promise.all([
      store.set('a', bytes('1')),
      store.setMany([
        { key: 'b', value: bytes('2') },
        { key: 'c', value: bytes('3'), ttlMs: 30_000 },
      ]),
      store.delete(['old1', 'old2', 'never-there']),
    ])
    expect((await readsProcessed(raw)) - reads).toBeLessThanOrEqual(2)
    expect(deleted).toBe(2)
    expect(await raw.mget('mixed:a', 'mixed:b', 'mixed:c', 'mixed:old1')).toEqual(['1', '2', '3', null])
    await store.close()
  })

  it('one refused write rejects only its caller, with its own StoreRefusedError', async () => {
    const store = redisStore({
      client: createRedis(`redis://writer:writer-secret@127.0.0.1:${server.port}`),
      maxValueBytes: 16,
    })
    await store.set('ok:warm', bytes('up'))
    const reads = await readsProcessed(raw)
    const results = [
      store.set('ok:1', bytes('one')),
      store.set('no:1', bytes('not allowed')),
      store.set('ok:2', bytes('two')),
      store.set('ok:big', bytes('x'.repeat(17))),
      store.delete(['no:2']),
      store.setMany([{ key: 'ok:3', value: bytes('three') }]),
    ]
    const outcomes = await Promise.all(results.map(failure))
    expect(outcomes[0]).toEqual({ rejected: false, error: undefined })
    expect(outcomes[1]).toMatchObject({ code: 'E_STORE_REFUSED', key: 'no:1' })
    expect((outcomes[1]!.cause as Error).message).toMatch(/^NOPERM/)
    expect(outcomes[2]).toEqual({ rejected: false, error: undefined })
    expect(outcomes[3]).toMatchObject({ code: 'E_VALUE_TOO_LARGE', key: 'ok:big' })
    expect(outcomes[4]).toMatchObject({ code: 'E_STORE_REFUSED', key: 'no:2' })
    expect(outcomes[5]).toEqual({ rejected: false, error: undefined })
    expect((await readsProcessed(raw)) - reads).toBeLessThanOrEqual(2)
    expect(await raw.mget('ok:1', 'ok:2', 'ok:3', 'no:1', 'ok:big')).toEqual([
      'one',
      'two',
      'three',
      null,
      null,
    ])
    await store.close()
  })

  it('a lost connection rejects every write of the batch, naming why', async () => {
    const own = await startStandalone()
    try {
      const store = redisStore({ client: createRedis(own.url) })
      await store.set('warm', bytes('up'))
      await own.kill()
      // The client has seen the connection go (its status leaves 'ready'); poll, bounded.
      for (let i = 0; i < 200 && store.client.status === 'ready'; i++) {
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
      const outcomes = await Promise.all(
        [store.set('a', bytes('1')), store.set('b', bytes('2')), store.delete(['c'])].map(failure),
      )
      expect(outcomes.map(({ code }) => code)).toEqual([
        'E_STORE_FAILURE',
        'E_STORE_FAILURE',
        'E_STORE_FAILURE',
      ])
      for (const { cause } of outcomes) expect(cause).toBeInstanceOf(RedisConnectionError)
      await store.close()
    } finally {
      await own.stop()
    }
  })

  it('with coalesceWrites: false, each write is its own command and still lands', async () => {
    const store = redisStore({ client: createRedis(server.url), prefix: 'single:', coalesceWrites: false })
    await Promise.all(Array.from({ length: 10 }, (_, i) => store.set(`k${i}`, bytes(`v${i}`))))
    expect(await store.delete(['k0', 'k1'])).toBe(2)
    expect(await raw.mget('single:k0', 'single:k2', 'single:k9')).toEqual([null, 'v2', 'v9'])
    await store.close()
  })

  it('writes made before the first connection wait in order and then land', async () => {
    const client = createRedis(server.url)
    expect(client.status).not.toBe('ready')
    const store = redisStore({ client, prefix: 'early:' })
    const made = [
      store.set('k', bytes('first')),
      store.delete(['k']),
      store.set('k', bytes('second')),
      store.set('gone', bytes('x')),
      store.delete(['gone']),
    ]
    await Promise.all(made)
    expect(await raw.mget('early:k', 'early:gone')).toEqual(['second', null])
    await store.close()
  })

  it('writes made just before close land before QUIT', async () => {
    const store = redisStore({ client: createRedis(server.url), prefix: 'closing:' })
    await store.set('warm', bytes('up'))
    const made = [store.set('a', bytes('1')), store.delete(['warm'])]
    await store.close()
    await Promise.all(made)
    expect(await raw.mget('closing:a', 'closing:warm')).toEqual(['1', null])
    await expect(store.set('late', bytes('x'))).rejects.toMatchObject({ code: 'E_STORE_CLOSED' })
  })
})

/**
 * Order: calls made without awaiting, across ticks, must reach Redis in the order they were made,
 * whatever mix of set, setMany and delete, so the last call for a key decides what Redis holds.
 */
function orderingSuite(name: string, connect: () => RedisStore) {
  describe(`write order (${name})`, () => {
    it('a delete between two sets of one tick leaves the second value', async () => {
      const store = connect()
      const calls = [
        store.set('k', bytes('first')),
        store.delete(['k']),
        store.set('k', bytes('second')),
        store.set('j', bytes('only')),
        store.delete(['j']),
      ]
      const results = await Promise.all(calls)
      expect(results[1]).toBe(1)
      expect(results[4]).toBe(1)
      expect(text(await store.get('k'))).toBe('second')
      expect(await store.get('j')).toBeUndefined()
      await store.close()
    })

    it('a read made after a write, without awaiting it, sees the write', async () => {
      const store = connect()
      await store.set('r', bytes('old'))
      void store.set('r', bytes('new'))
      expect(text(await store.get('r'))).toBe('new')
      void store.delete(['r'])
      expect(await store.getMany(['r'])).toEqual([undefined])
      void store.set('r', bytes('again'))
      const keys: string[] = []
      for await (const key of store.scan('r')) keys.push(key)
      expect(keys).toEqual(['r'])
      void store.set('s', bytes('cleared'))
      expect(await store.clear()).toBeGreaterThanOrEqual(2)
      expect(await store.getMany(['r', 's'])).toEqual([undefined, undefined])
      await store.close()
    })

    it('300 random calls over 6 keys, spread over ticks, end as the last call of each key says', async () => {
      const store = connect()
      const random = seeded(17)
      const keys = Array.from({ length: 6 }, (_, i) => `key${i}`)
      const expected = new Map<string, string | undefined>()
      const calls: Array<Promise<unknown>> = []
      for (let i = 0; i < 300; i++) {
        const key = keys[Math.floor(random() * keys.length)]!
        const roll = random()
        if (roll < 0.45) {
          calls.push(store.set(key, bytes(`v${i}`), 60_000))
          expected.set(key, `v${i}`)
        } else if (roll < 0.65) {
          const other = keys[Math.floor(random() * keys.length)]!
          const writes: StoreWrite<Uint8Array>[] = [
            { key, value: bytes(`m${i}`) },
            { key: other, value: bytes(`n${i}`) },
          ]
          calls.push(store.setMany(writes))
          expected.set(key, `m${i}`)
          expected.set(other, `n${i}`)
          if (other === key) expected.set(key, `n${i}`)
        } else {
          const other = keys[Math.floor(random() * keys.length)]!
          calls.push(store.delete([key, other]))
          expected.set(key, undefined)
          expected.set(other, undefined)
        }
        // A new tick now and then: some calls share a batch, others do not.
        const pause = random()
        if (pause < 0.1) await new Promise((resolve) => setImmediate(resolve))
        else if (pause < 0.2) await Promise.resolve()
      }
      await Promise.all(calls)
      const values = (await store.getMany(keys)).map(text)
      expect(values).toEqual(keys.map((key) => expected.get(key)))
      await store.close()
    })
  })
}

function seeded(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

const standalone = requireTopology(inject('redis'), 'standalone')
const cluster = requireTopology(inject('redis'), 'cluster')

orderingSuite('standalone', () =>
  redisStore({ client: createRedis(standalone.url), prefix: `order:${randomUUID()}:` }),
)

orderingSuite('cluster', () =>
  redisStore({ client: createRedis({ cluster: cluster.startupNodes }), prefix: `order:${randomUUID()}:` }),
)

describe('writes made in one tick (cluster, 3 masters)', () => {
  it('leave as one pipeline per master, and every value reads back', async () => {
    const client = createRedis({ cluster: cluster.startupNodes }) as Cluster
    const prefix = `spread:${randomUUID()}:`
    const store = redisStore({ client, prefix })
    await store.set('warm', bytes('up'))
    const masters = client.nodes('master')
    expect(masters).toHaveLength(3)
    const before = await Promise.all(masters.map(readsProcessed))
    const keys = Array.from({ length: 200 }, (_, i) => `k${i}`)
    await Promise.all(keys.map((key) => store.set(key, bytes(key), 60_000)))
    const after = await Promise.all(masters.map(readsProcessed))
    // One read for the pipeline and one for the INFO on each master; a replica's once-a-second
    // REPLCONF ACK may add one.
    for (const [i, count] of after.entries()) expect(count - before[i]!).toBeLessThanOrEqual(3)
    expect((await store.getMany(keys)).map(text)).toEqual(keys)
    const deleted = await Promise.all([store.delete(keys.slice(0, 100)), store.delete(keys.slice(100))])
    expect(deleted).toEqual([100, 100])
    expect((await store.getMany(keys)).every((value) => value === undefined)).toBe(true)
    await store.close()
  })
})
