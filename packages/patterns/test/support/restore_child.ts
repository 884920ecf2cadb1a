/**
 * A new process of the app, for the snapshot test: it restores the snapshot before serving, then
 * reads the keys it is told, and reports how many reads each tier served and how many calls reached
 * the L2 store (a real redisStore, counted on its way in). Config in SNAPSHOT_CHILD, JSON.
 */
import { type CacheEntry, createCache, type Store } from '@cachekit/core'
import { memoryStore } from '@cachekit/memory'
import { createRedis, redisStore } from '@cachekit/redis'
import { restoreSnapshot } from '../../src/index.js'

interface Config {
  url: string
  prefix: string
  path: string
  keys: string[]
  extraKey: string
}

const config = JSON.parse(process.env.SNAPSHOT_CHILD ?? '{}') as Config
const client = createRedis(config.url)
const store = redisStore({ client })
const l2Reads: string[] = []
const counted: Store<Uint8Array> = new Proxy(store, {
  get(target, name) {
    const value = Reflect.get(target, name, target)
    if (name === 'get' || name === 'getMany') {
      return (...args: unknown[]) => {
        l2Reads.push(String(name))
        return (value as (...args: unknown[]) => unknown).apply(target, args)
      }
    }
    return typeof value === 'function' ? value.bind(target) : value
  },
})
const cache = createCache({
  prefix: config.prefix,
  l1: memoryStore<CacheEntry>({ maxEntries: 1_000 }),
  l2: counted,
})

const restore = await restoreSnapshot(cache, { path: config.path })
const values: unknown[] = []
for (const key of config.keys) values.push(await cache.get(key))
const beforeExtra = { stats: cache.stats(), l2Reads: l2Reads.length }
const extra = await cache.get(config.extraKey)
const after = { stats: cache.stats(), l2Reads: l2Reads.length }
await cache.close()
process.stdout.write(JSON.stringify({ restore, values, beforeExtra, extra, after }))
