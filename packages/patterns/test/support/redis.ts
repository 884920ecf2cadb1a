import { randomUUID } from 'node:crypto'
import { type Cache, type CacheEntry, type CacheOptions, createCache } from '@cachekit/core'
import { memoryStore } from '@cachekit/memory'
import { redisBus } from '@cachekit/pubsub'
import { createRedis, redisStore, redisTagIndex } from '@cachekit/redis'
import { requireTopology } from '@cachekit/redis-harness'
import type { Cluster, Redis } from 'ioredis'
import { inject } from 'vitest'

export type Topology = 'standalone' | 'cluster'
export const topologies: Topology[] = ['standalone', 'cluster']

/** A new client of the topology; the caller closes it (see `Instances`). */
export function clientOf(topology: Topology): Redis | Cluster {
  const provided = inject('redis')
  return topology === 'standalone'
    ? createRedis(requireTopology(provided, 'standalone').url)
    : createRedis({ cluster: requireTopology(provided, 'cluster').startupNodes })
}

/** A fresh prefix per test, so tests sharing a server never see each other's keys. */
export function freshPrefix(name: string): string {
  return `patterns:${name}:${randomUUID().slice(0, 8)}`
}

/** Instances of an app (each its own L1 and connections) on one Redis, all closed by `close()`. */
export class Instances {
  private readonly open: Array<() => Promise<unknown>> = []

  constructor(private readonly topology: Topology) {}

  client(): Redis | Cluster {
    const client = clientOf(this.topology)
    this.open.push(async () => client.quit().catch(() => client.disconnect()))
    return client
  }

  /** An instance: L1 in memory; L2, tag index and bus on Redis, each instance on its own connections. */
  start(prefix: string, options: CacheOptions = {}): Cache {
    const data = this.client()
    const bus = redisBus({ client: this.client() })
    const cache = createCache({
      prefix,
      l1: memoryStore<CacheEntry>({ maxEntries: 10_000 }),
      l2: redisStore({ client: data, closeClient: false }),
      tagIndex: redisTagIndex({ client: data, prefix: `${prefix}:`, closeClient: false }),
      bus,
      ttl: '1m',
      ...options,
    })
    this.open.push(() => cache.close())
    return cache
  }

  async close(): Promise<void> {
    for (const close of this.open.splice(0).reverse()) await close().catch(() => undefined)
  }
}

/** Polls until `check` holds; fails with `what` after `timeoutMs`. Every wait here is bounded. */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 5_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
}

/** A promise with its resolve, for tests that hold a step open until they let it go. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((done) => {
    resolve = done
  })
  return { promise, resolve }
}
