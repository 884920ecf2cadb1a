import { type RedisServerHandle, startStandalone } from '@cachekit/redis-harness'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedis, redisStore } from '../src/index.js'
import { commandCalls } from './support/command_stats.js'

describe('reads made in one tick', () => {
  let server: RedisServerHandle
  let raw: Redis

  beforeAll(async () => {
    server = await startStandalone() // its own server, so command counts are ours alone
    raw = new Redis(server.url)
  })

  afterAll(async () => {
    await raw.quit()
    await server.stop()
  })

  it('leave as one MGET, and every caller gets its own value', async () => {
    const store = redisStore({ client: createRedis(server.url) })
    await store.setMany(Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: Buffer.from(`v${i}`) })))
    const [getsBefore, mgetsBefore] = [await commandCalls(raw, 'get'), await commandCalls(raw, 'mget')]
    const keys = [...Array.from({ length: 50 }, (_, i) => `k${i}`), 'missing', 'k7']
    const values = await Promise.all(keys.map((key) => store.get(key)))
    expect(values.map((value) => value && Buffer.from(value).toString())).toEqual([
      ...Array.from({ length: 50 }, (_, i) => `v${i}`),
      undefined,
      'v7',
    ])
    expect((await commandCalls(raw, 'mget')) - mgetsBefore).toBe(1)
    expect((await commandCalls(raw, 'get')) - getsBefore).toBe(0)
    await store.close()
  })

  it('leave one GET each with coalesceGets: false', async () => {
    const store = redisStore({ client: createRedis(server.url), coalesceGets: false })
    const getsBefore = await commandCalls(raw, 'get')
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.get(`k${i}`)))
    expect((await commandCalls(raw, 'get')) - getsBefore).toBe(20)
    await store.close()
  })

  it('all fail together when Redis does', async () => {
    const client = createRedis(server.url)
    const store = redisStore({ client })
    await store.get('k1')
    client.disconnect()
    const results = await Promise.allSettled([store.get('k1'), store.get('k2')])
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected'])
  })
})
