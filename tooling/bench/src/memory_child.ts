/**
 * Measures the heap one library's in-process tier takes per entry, in a process of its own started
 * with --expose-gc: heap before the store exists, then after it holds `count` small objects, both
 * after full collections. Prints one JSON line.
 */
import { type CacheEntry, createCache, createEntry } from '@cachekit/core'
import { memoryStore } from '@cachekit/memory'
import { BentoCache, bentostore } from 'bentocache'
import { memoryDriver } from 'bentocache/drivers/memory'
import { createCache as createCacheManager } from 'cache-manager'
import { CacheableMemory } from 'cacheable'
import { Keyv } from 'keyv'
import { LRUCache } from 'lru-cache'
import { smallObject } from './data.js'
import { TTL_MS } from './libraries.js'

type Writer = { write(key: string, value: unknown): unknown; keep: unknown }

function create(library: string, count: number): Writer {
  switch (library) {
    case 'Map (baseline: the keys and values alone)': {
      const map = new Map<string, unknown>()
      return { write: (key, value) => map.set(key, value), keep: map }
    }
    case 'lru-cache (bare)': {
      const lru = new LRUCache<string, object>({ max: count, ttl: TTL_MS, ttlAutopurge: false })
      return { write: (key, value) => lru.set(key, value as object), keep: lru }
    }
    case 'cachekit memoryStore': {
      const store = memoryStore<CacheEntry>({ maxEntries: count })
      return {
        write: (key, value) => store.set(key, createEntry(value, { ttlMs: TTL_MS }), TTL_MS),
        keep: store,
      }
    }
    case 'cachekit cache (L1 only)': {
      const cache = createCache({
        prefix: 'mem',
        l1: memoryStore<CacheEntry>({ maxEntries: count }),
        ttl: TTL_MS,
      })
      return { write: (key, value) => cache.set(key, value), keep: cache }
    }
    case 'bentocache (memory driver, default)':
    case 'bentocache (memory driver, serialize: false)': {
      const serialize = library === 'bentocache (memory driver, default)'
      const store = bentostore().useL1Layer(
        memoryDriver({ maxItems: count, ...(serialize ? {} : { serialize: false }) }),
      )
      const bento = new BentoCache({ default: 'store', ttl: TTL_MS, stores: { store } })
      return { write: (key, value) => bento.set({ key, value }), keep: bento }
    }
    case 'cache-manager (CacheableMemory)': {
      const cache = createCacheManager({
        stores: [new Keyv({ store: new CacheableMemory({ ttl: TTL_MS, lruSize: count }) })],
        ttl: TTL_MS,
      })
      return { write: (key, value) => cache.set(key, value), keep: cache }
    }
  }
  throw new Error(`[bench] unknown memory library ${library}`)
}

function collect(): number {
  const gc = (globalThis as { gc?: () => void }).gc
  if (!gc) throw new Error('[bench] memory_child needs --expose-gc')
  for (let i = 0; i < 4; i++) gc()
  return process.memoryUsage().heapUsed
}

const library = process.argv[2] ?? ''
const count = Number(process.argv[3] ?? 100_000)
const before = collect()
const writer = create(library, count)
for (let i = 0; i < count; i++) await writer.write(`key:${i}`, smallObject(i))
// Lets any write-behind work (promises, timers) settle before measuring.
await new Promise((resolve) => setTimeout(resolve, 50))
const after = collect()
process.stdout.write(
  `${JSON.stringify({ library, count, bytesPerEntry: (after - before) / count, kept: typeof writer.keep })}\n`,
)
process.exit(0)
