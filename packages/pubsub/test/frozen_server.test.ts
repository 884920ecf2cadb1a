import { randomUUID } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { type CacheEntry, createCache } from '@cachekit/core'
import { memoryStore } from '@cachekit/memory'
import { createRedis, redisStore } from '@cachekit/redis'
import { type RedisServerHandle, startStandalone } from '@cachekit/redis-harness'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { redisBus } from '../src/index.js'
import { resources, waitFor } from './helpers.js'

const L2_TIMEOUT = 500
/**
 * Beyond one l2Timeout: timer ticks and a busy machine. A bound on the cache's own waits, not a speed
 * claim: waiting for the bus as well would add up to another timeout (or the client's 1 s command
 * timeout), so anything below two timeouts tells one wait from two.
 */
const SLACK = 0.9 * L2_TIMEOUT

const open = resources()
afterEach(() => open.closeAll())

describe('a frozen Redis (SIGSTOP) under the bus', () => {
  let server: RedisServerHandle

  beforeAll(async () => {
    // Its own server: freezing the shared one would stall every other test file.
    server = await startStandalone()
  })

  afterAll(async () => {
    await server.stop()
  })

  function instance(prefix: string) {
    const l1 = memoryStore<CacheEntry>({ maxEntries: 1_000 })
    const bus = open.bus(redisBus({ client: open.client(createRedis(server.url)) }))
    const cache = createCache({
      prefix,
      l1,
      l2: redisStore({ client: open.client(createRedis(server.url)) }),
      bus,
      l2Timeout: L2_TIMEOUT,
      breaker: { failureThreshold: 1_000 },
    })
    return { cache, l1 }
  }

  it('a write waits one l2Timeout, not the bus as well, and is still announced once Redis is back', async () => {
    const prefix = `frozen-bus:${randomUUID()}`
    const a = instance(prefix)
    const b = instance(prefix)
    await Promise.all([a.cache.ready(), b.cache.ready()])
    await b.cache.set('k', 'v0') // B's own write: in its L1, and B ignores its own announcement
    expect(await b.l1.get(`${prefix}::k`)).toBeDefined()

    const elapsed: Record<string, number> = {}
    const time = async (call: string, run: () => Promise<unknown>) => {
      const started = performance.now()
      await run()
      elapsed[call] = performance.now() - started
    }
    await server.freeze()
    try {
      await time('set', () => a.cache.set('k', 'v1'))
      await time('getOrSet', () => a.cache.getOrSet('k2', () => 'made'))
      await time('delete', () => a.cache.delete('k3'))
    } finally {
      await server.thaw()
    }
    console.info(
      `[frozen bus] l2Timeout ${L2_TIMEOUT} ms; waited ${Object.entries(elapsed)
        .map(([call, ms]) => `${call} ${Math.round(ms)} ms`)
        .join(', ')}`,
    )
    for (const [call, ms] of Object.entries(elapsed)) expect(ms, call).toBeLessThan(L2_TIMEOUT + SLACK)

    // The announcement of the write left after it and reaches B once Redis runs again.
    await waitFor('B to drop its L1 copy of k', async () => (await b.l1.get(`${prefix}::k`)) === undefined)
    await Promise.all([a.cache.close(), b.cache.close()])
  })
})
