import { randomUUID } from 'node:crypto'
import { CacheError, type Duration, isInvalidatedByTags } from '@cachekit/core'
import { tagIndexContractSuite } from '@cachekit/core/testing'
import { type RedisServerHandle, requireTopology, startStandalone } from '@cachekit/redis-harness'
import calculateSlot from 'cluster-key-slot'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createRedis, redisTagIndex } from '../src/index.js'
import { commandCalls } from './support/command_stats.js'

const redis = inject('redis')
const standalone = requireTopology(redis, 'standalone')
const cluster = requireTopology(redis, 'cluster')

// Every test gets its own prefix, so tests never see each other's tags on the shared servers.
tagIndexContractSuite('redis standalone', {
  createIndex: () => redisTagIndex({ client: createRedis(standalone.url), prefix: `tags:${randomUUID()}:` }),
})

tagIndexContractSuite('redis cluster (3 masters)', {
  createIndex: () =>
    redisTagIndex({
      client: createRedis({ cluster: cluster.startupNodes }),
      prefix: `tags:${randomUUID()}:`,
    }),
})

const T = 1_700_000_000_000

describe('redisTagIndex on Redis', () => {
  let raw: Redis

  beforeAll(() => {
    raw = new Redis(standalone.url)
  })

  afterAll(async () => {
    await raw.quit()
  })

  it('gives every tag key a PX TTL', async () => {
    const index = redisTagIndex({
      client: createRedis(standalone.url),
      prefix: `tags:${randomUUID()}:`,
      ttl: '1h',
    })
    await index.invalidate(['products', 'users'], T)
    for (const tag of ['products', 'users']) {
      const pttl = await raw.pttl(index.keyOf(tag))
      expect(pttl).toBeGreaterThan(0)
      expect(pttl).toBeLessThanOrEqual(3_600_000)
    }
    await index.close()
  })

  it('defaults the TTL to 30 days', async () => {
    const index = redisTagIndex({ client: createRedis(standalone.url), prefix: `tags:${randomUUID()}:` })
    await index.invalidate(['t'], T)
    expect(await raw.pttl(index.keyOf('t'))).toBeGreaterThan(29 * 24 * 3_600_000)
    await index.close()
  })

  it('reads a garbage value as invalidated now, and an invalidation repairs it', async () => {
    const index = redisTagIndex({ client: createRedis(standalone.url), prefix: `tags:${randomUUID()}:` })
    await raw.set(index.keyOf('junk'), 'not a time')
    await raw.set(index.keyOf('nan'), 'NaN')
    await raw.set(index.keyOf('empty'), '')
    const before = Date.now()
    const times = await index.invalidatedAt(['junk', 'nan', 'empty'])
    for (const time of times) {
      expect(time).toBeGreaterThanOrEqual(before)
      expect(isInvalidatedByTags({ createdAt: before - 1 }, [time])).toBe(true)
    }
    await index.invalidate(['junk'], T)
    expect(await index.invalidatedAt(['junk'])).toEqual([T])
    await index.close()
  })

  it('re-sends the script by body after SCRIPT FLUSH', async () => {
    const index = redisTagIndex({ client: createRedis(standalone.url), prefix: `tags:${randomUUID()}:` })
    await raw.script('FLUSH')
    await index.invalidate(['t'], T)
    await index.invalidate(['t'], T - 1)
    expect(await index.invalidatedAt(['t'])).toEqual([T])
    await index.close()
  })

  it('keeps a tag brace from steering its key: every tag of one index shares one slot', async () => {
    const index = redisTagIndex({ client: createRedis(standalone.url), prefix: 'shop:', closeClient: true })
    const slots = new Set(['a', '{b}', 'c}{', '{}', 'ü'].map((tag) => calculateSlot(index.keyOf(tag))))
    expect(slots.size).toBe(1)
    const other = redisTagIndex({ client: index.client, prefix: 'blog:', closeClient: false })
    expect(calculateSlot(other.keyOf('a'))).not.toBe(calculateSlot(index.keyOf('a')))
    await other.close()
    await index.close()
  })

  it('shares a client when closeClient is false', async () => {
    const client = createRedis(standalone.url)
    const index = redisTagIndex({ client, prefix: `tags:${randomUUID()}:`, closeClient: false })
    await index.close()
    expect(await client.ping()).toBe('PONG')
    await expect(index.invalidatedAt(['t'])).rejects.toSatisfy((error) =>
      CacheError.hasCode(error, 'E_STORE_CLOSED'),
    )
    await client.quit()
  })

  it('rejects bad options and times with E_INVALID_OPTION', async () => {
    const client = createRedis(standalone.url)
    expect(() => redisTagIndex({ client, ttl: 0 })).toThrow(
      expect.objectContaining({ code: 'E_INVALID_OPTION' }),
    )
    expect(() => redisTagIndex({ client, ttl: 'soon' as Duration })).toThrow(
      expect.objectContaining({ code: 'E_INVALID_DURATION' }),
    )
    const index = redisTagIndex({ client, prefix: `tags:${randomUUID()}:` })
    for (const at of [Number.NaN, Number.POSITIVE_INFINITY, -1]) {
      await expect(index.invalidate(['t'], at)).rejects.toSatisfy((error) =>
        CacheError.hasCode(error, 'E_INVALID_OPTION'),
      )
    }
    await index.close()
  })

  it('on a Cluster, reads tags written by another client of the cluster', async () => {
    const prefix = `tags:${randomUUID()}:`
    const writer = redisTagIndex({ client: createRedis({ cluster: cluster.startupNodes }), prefix })
    const reader = redisTagIndex({ client: createRedis({ cluster: cluster.startupNodes }), prefix })
    const tags = Array.from({ length: 300 }, (_, i) => `t{${i}}`)
    await writer.invalidate(tags, T)
    expect(await reader.invalidatedAt(['missing', ...tags])).toEqual([0, ...tags.map(() => T)])
    await writer.close()
    await reader.close()
  })
})

describe('redisTagIndex round trips', () => {
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

  it('invalidates N tags with one script call and reads them with one MGET', async () => {
    const index = redisTagIndex({ client: createRedis(server.url), prefix: 'rt:' })
    await index.invalidate(['warm-up'], T) // loads the script: the first EVALSHA meets NOSCRIPT
    const tags = Array.from({ length: 500 }, (_, i) => `tag:${i}`)
    const before = {
      evalsha: await commandCalls(raw, 'evalsha'),
      eval: await commandCalls(raw, 'eval'),
      mget: await commandCalls(raw, 'mget'),
    }
    await index.invalidate(tags, T)
    // Commandstats also counts the GETs and SETs the script runs, so only the calls sent are compared.
    const times = await index.invalidatedAt(tags)
    expect(times.every((time) => time === T)).toBe(true)
    expect((await commandCalls(raw, 'evalsha')) - before.evalsha).toBe(1)
    expect((await commandCalls(raw, 'eval')) - before.eval).toBe(0)
    expect((await commandCalls(raw, 'mget')) - before.mget).toBe(1)
    await index.close()
  })
})
