/**
 * The caches every throughput workload shares, created once per run and filled with the same 10,000
 * values of about 1 KB under each library's own prefix.
 */
import type { Cache } from '@cachekit/core'
import { jsonCodec } from '@cachekit/serializers'
import type { Cache as CacheManager } from 'cache-manager'
import type { Redis } from 'ioredis'
import { LRUCache } from 'lru-cache'
import { keys, objectOf1Kb } from './data.js'
import {
  type Bento,
  bentocache,
  type Closable,
  cachekit,
  cacheManager,
  L1_ENTRIES,
  packr,
  rawRedis,
  TTL_MS,
} from './libraries.js'

/** Keys written under every prefix. */
export const KEY_COUNT = 10_000

export interface Fixtures {
  url: string
  keys: string[]
  values: Array<Record<string, unknown>>
  /** L1 (10,000 entries) + L2, holding all keys in both tiers. */
  tiered: { cachekit: Cache; bento: Bento; bentoNoSerialize: Bento; cacheManager: CacheManager & Closable }
  /** Redis only, reading the same keys as `tiered`. */
  l2: {
    cachekit: Cache
    cachekitJson: Cache
    /** Information rows: ioredis auto-pipelining, for cachekit and for the raw reference. */
    cachekitAutoPipelining: Cache
    bento: Bento
    cacheManager: CacheManager & Closable
  }
  raw: {
    redis: Redis
    redisAutoPipelining: Redis
    /** Keys of the raw references in Redis (msgpack bytes, no frame). */
    redisKeys: string[]
    lru: LRUCache<string, Record<string, unknown>>
    /** The same, checking each TTL against the clock on every get (`ttlResolution: 0`), as cachekit's L1 does. */
    lruExact: LRUCache<string, Record<string, unknown>>
  }
  close(): Promise<void>
}

/** Runs `write(i)` for i < count, 64 at a time. */
export async function fill(count: number, write: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < count) await write(next++)
  }
  await Promise.all(Array.from({ length: 64 }, worker))
}

export async function createFixtures(url: string): Promise<Fixtures> {
  const allKeys = keys('k', KEY_COUNT)
  const values = allKeys.map((_, i) => objectOf1Kb(i))
  const tiered = {
    cachekit: cachekit(url, { prefix: 'ck' }),
    bento: bentocache(url, { prefix: 'bento' }),
    bentoNoSerialize: bentocache(url, { prefix: 'bento', serializeL1: false }),
    cacheManager: cacheManager(url, { namespace: 'cm' }),
  }
  const l2 = {
    cachekit: cachekit(url, { prefix: 'ck', l1Entries: 0 }),
    cachekitJson: cachekit(url, { prefix: 'ckjson', l1Entries: 0, codec: jsonCodec() }),
    cachekitAutoPipelining: cachekit(url, { prefix: 'ck', l1Entries: 0, autoPipelining: true }),
    bento: bentocache(url, { prefix: 'bento', l1Entries: 0 }),
    cacheManager: cacheManager(url, { namespace: 'cm', l1Entries: 0 }),
  }
  const redis = rawRedis(url)
  const redisAutoPipelining = rawRedis(url, { autoPipelining: true })
  const redisKeys = keys('raw:k', KEY_COUNT)
  const lru = new LRUCache<string, Record<string, unknown>>({
    max: L1_ENTRIES,
    ttl: TTL_MS,
    ttlAutopurge: false,
  })

  await fill(KEY_COUNT, (i) => tiered.cachekit.set(allKeys[i]!, values[i]))
  await fill(KEY_COUNT, (i) => tiered.bento.set({ key: allKeys[i]!, value: values[i] }))
  // Filled with set, not by reading L2: bentocache 1.6.1 with `serialize: false` copies an L2 hit
  // into L1 as a JSON string and then throws on the next get of it (CacheEntry.fromDriver).
  await fill(KEY_COUNT, (i) => tiered.bentoNoSerialize.set({ key: allKeys[i]!, value: values[i] }))
  await fill(KEY_COUNT, (i) => tiered.cacheManager.set(allKeys[i]!, values[i]))
  await fill(KEY_COUNT, (i) => l2.cachekitJson.set(allKeys[i]!, values[i]))
  await fill(KEY_COUNT, (i) => redis.set(redisKeys[i]!, packr.pack(values[i]), 'PX', TTL_MS))
  const lruExact = new LRUCache<string, Record<string, unknown>>({
    max: L1_ENTRIES,
    ttl: TTL_MS,
    ttlAutopurge: false,
    ttlResolution: 0,
  })
  for (const [i, key] of allKeys.entries()) {
    lru.set(key, values[i]!)
    lruExact.set(key, values[i]!)
  }

  return {
    url,
    keys: allKeys,
    values,
    tiered,
    l2,
    raw: { redis, redisAutoPipelining, redisKeys, lru, lruExact },
    async close() {
      await Promise.all([
        tiered.cachekit.close(),
        tiered.bento.disconnect(),
        tiered.bentoNoSerialize.disconnect(),
        tiered.cacheManager.close(),
        l2.cachekit.close(),
        l2.cachekitJson.close(),
        l2.cachekitAutoPipelining.close(),
        l2.bento.disconnect(),
        l2.cacheManager.close(),
      ])
      redis.disconnect()
      redisAutoPipelining.disconnect()
    },
  }
}
