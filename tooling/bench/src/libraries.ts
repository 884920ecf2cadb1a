/**
 * Each library set up the way its documentation recommends for the job, with the same TTL and the
 * same L1 size. Nothing is tuned for the benchmark: no option appears here that a reader of the
 * library's README would not write.
 */
import { readFileSync } from 'node:fs'
import { type Cache, type CacheEntry, type CacheOptions, type Codec, createCache } from '@cachekit/core'
import { memoryStore } from '@cachekit/memory'
import { createRedis, redisStore, redisTagIndex } from '@cachekit/redis'
import { createKeyv as createKeyvRedis } from '@keyv/redis'
import { BentoCache, bentostore } from 'bentocache'
import { memoryDriver } from 'bentocache/drivers/memory'
import { redisDriver } from 'bentocache/drivers/redis'
import { type Cache as CacheManager, createCache as createCacheManager } from 'cache-manager'
import { CacheableMemory } from 'cacheable'
import { Cluster, Redis } from 'ioredis'
import { Keyv } from 'keyv'
import { Packr } from 'msgpackr'

/** Every library keeps values this long. */
export const TTL_MS = 10 * 60_000
/** Every L1 holds this many entries, unless a workload says otherwise. */
export const L1_ENTRIES = 10_000

/** The options `@cachekit/serializers` packs with, so the raw reference decodes the same way. */
export const packr = new Packr({
  useRecords: false,
  mapsAsObjects: true,
  moreTypes: true,
  useBigIntExtension: true,
  copyBuffers: true,
})

export interface Closable {
  close(): Promise<void>
}

/** Where a library connects: a standalone server's URL, or some nodes of a Redis Cluster. */
export type RedisTarget = string | { cluster: Array<{ host: string; port: number }> }

// ---- cachekit ----------------------------------------------------------------------------------

export interface CachekitOptions {
  prefix: string
  /** L1 entries; 0 for an L2-only cache. */
  l1Entries?: number
  /** false for an L1-only cache. */
  l2?: boolean
  codec?: Codec
  lock?: 'local' | 'distributed'
  /** ioredis `enableAutoPipelining` on the cache's client (not a default; information rows only). */
  autoPipelining?: boolean
  /**
   * Tags: `redisTagIndex({ client, prefix: '<prefix>-tags:', closeClient: false })` on the store's
   * client, as the core README shows, with this `tagCleanup` (omitted: cachekit's default sweep).
   */
  tags?: { cleanup?: CacheOptions['tagCleanup'] }
}

/**
 * `createCache({ prefix, l1: memoryStore(...), l2: redisStore({ client: createRedis(url) }), ttl })`;
 * on a Cluster, `createRedis({ cluster: nodes })`.
 */
export function cachekit(target: RedisTarget, options: CachekitOptions): Cache {
  const l1Entries = options.l1Entries ?? L1_ENTRIES
  const client = options.l2 === false ? undefined : cachekitClient(target, options.autoPipelining === true)
  if (options.tags && !client) throw new Error('[bench] tags need the Redis tier')
  return createCache({
    prefix: options.prefix,
    ...(l1Entries > 0 ? { l1: memoryStore<CacheEntry>({ maxEntries: l1Entries }) } : {}),
    ...(client ? { l2: redisStore({ client }) } : {}),
    ...(options.tags && client
      ? {
          tagIndex: redisTagIndex({ client, prefix: `${options.prefix}-tags:`, closeClient: false }),
          ...(options.tags.cleanup === undefined ? {} : { tagCleanup: options.tags.cleanup }),
        }
      : {}),
    ...(options.codec ? { codec: options.codec } : {}),
    ...(options.lock ? { lock: options.lock } : {}),
    ttl: TTL_MS,
  })
}

function cachekitClient(target: RedisTarget, autoPipelining: boolean) {
  if (typeof target !== 'string') {
    if (autoPipelining) throw new Error('[bench] autoPipelining rows are standalone only')
    return createRedis({ cluster: target.cluster })
  }
  return createRedis(autoPipelining ? { url: target, ioredis: { enableAutoPipelining: true } } : target)
}

// ---- bentocache --------------------------------------------------------------------------------

export interface BentoOptions {
  prefix: string
  /** L1 entries; 0 for an L2-only store. */
  l1Entries?: number
  /** false for an L1-only store. */
  l2?: boolean
  /** The memory driver's `serialize` option; bentocache's default is true. */
  serializeL1?: boolean
}

export type Bento = BentoCache<{ store: ReturnType<typeof bentostore> }>

/**
 * `new BentoCache({ default, stores: { x: bentostore().useL1Layer(memoryDriver()).useL2Layer(redisDriver()) } })`;
 * its Redis driver takes an ioredis `Redis` or `Cluster` as `connection` (bentocache's docs, and
 * `instanceof` checks in its driver against the same ioredis this package installs).
 */
export function bentocache(target: RedisTarget, options: BentoOptions): Bento {
  const l1Entries = options.l1Entries ?? L1_ENTRIES
  let store = bentostore()
  if (l1Entries > 0) {
    store = store.useL1Layer(
      memoryDriver({
        maxItems: l1Entries,
        ...(options.serializeL1 === undefined ? {} : { serialize: options.serializeL1 }),
      }),
    )
  }
  if (options.l2 !== false) store = store.useL2Layer(redisDriver({ connection: rawRedis(target) }))
  return new BentoCache({ default: 'store', prefix: options.prefix, ttl: TTL_MS, stores: { store } })
}

// ---- cache-manager -----------------------------------------------------------------------------

export interface CacheManagerOptions {
  namespace: string
  /** L1 entries; 0 for a Redis-only cache. */
  l1Entries?: number
}

/**
 * cache-manager 7 over Keyv: `CacheableMemory` (LRU + TTL) as the first store and `@keyv/redis`
 * (node-redis underneath) as the second, as its README shows for two tiers.
 */
export function cacheManager(url: string, options: CacheManagerOptions): CacheManager & Closable {
  const l1Entries = options.l1Entries ?? L1_ENTRIES
  const stores: Keyv[] = []
  if (l1Entries > 0)
    stores.push(new Keyv({ store: new CacheableMemory({ ttl: TTL_MS, lruSize: l1Entries }) }))
  stores.push(createKeyvRedis(url, { namespace: options.namespace }))
  const cache = createCacheManager({ stores, ttl: TTL_MS })
  return Object.assign(cache, { close: () => cache.disconnect().then(() => undefined) })
}

// ---- raw references ----------------------------------------------------------------------------

/** A plain ioredis client (`Redis`, or `Cluster` on a cluster) with its defaults, for the raw references. */
export function rawRedis(target: string, options?: { autoPipelining?: boolean }): Redis
export function rawRedis(target: RedisTarget, options?: { autoPipelining?: boolean }): Redis | Cluster
export function rawRedis(target: RedisTarget, options: { autoPipelining?: boolean } = {}): Redis | Cluster {
  const extra = options.autoPipelining ? { enableAutoPipelining: true } : {}
  if (typeof target !== 'string') return new Cluster(target.cluster, extra)
  return new Redis(target, extra)
}

// ---- versions ----------------------------------------------------------------------------------

/** Installed versions of the measured libraries, for the report. */
export function libraryVersions(): Record<string, string> {
  const names = [
    'bentocache',
    'cache-manager',
    'cacheable',
    'keyv',
    '@keyv/redis',
    'ioredis',
    'lru-cache',
    'msgpackr',
  ]
  const versions: Record<string, string> = {}
  for (const name of names) {
    const file = new URL(`../node_modules/${name}/package.json`, import.meta.url)
    versions[name] = (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version
  }
  return versions
}
