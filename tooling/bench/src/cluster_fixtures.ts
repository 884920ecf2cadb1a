/**
 * The caches of the cluster workloads: the same libraries, set up the same way, on a 3-master Redis
 * Cluster started by @cachekit/redis-harness (no replicas: on a 2-core machine replication would
 * only add CPU load that every library pays alike). cachekit connects with
 * `createRedis({ cluster: nodes })`, bentocache's Redis driver and the raw references with ioredis'
 * `new Cluster(nodes)` and its defaults.
 */
import type { Cache } from '@cachekit/core'
import type { Cluster } from 'ioredis'
import { LRUCache } from 'lru-cache'
import { keys, objectOf1Kb } from './data.js'
import { fill } from './fixtures.js'
import { type Bento, bentocache, cachekit, L1_ENTRIES, packr, rawRedis, TTL_MS } from './libraries.js'

/** Keys written under every prefix: 20 batches of 100 for getMany, 1,000 of them for get. */
export const CLUSTER_KEY_COUNT = 2_000

export interface ClusterFixtures {
  nodes: Array<{ host: string; port: number }>
  keys: string[]
  values: Array<Record<string, unknown>>
  /** Redis only: get and getMany. */
  l2: { cachekit: Cache; bento: Bento }
  /** L1 (10,000 entries) + the cluster: set. */
  tiered: { cachekit: Cache; bento: Bento }
  raw: { cluster: Cluster; redisKeys: string[]; lru: LRUCache<string, Record<string, unknown>> }
  close(): Promise<void>
}

export async function createClusterFixtures(
  nodes: Array<{ host: string; port: number }>,
): Promise<ClusterFixtures> {
  const target = { cluster: nodes }
  const allKeys = keys('k', CLUSTER_KEY_COUNT)
  const values = allKeys.map((_, i) => objectOf1Kb(i))
  const tiered = {
    cachekit: cachekit(target, { prefix: 'ck' }),
    bento: bentocache(target, { prefix: 'bento' }),
  }
  const l2 = {
    cachekit: cachekit(target, { prefix: 'ck', l1Entries: 0 }),
    bento: bentocache(target, { prefix: 'bento', l1Entries: 0 }),
  }
  const cluster = rawRedis(target) as Cluster
  const redisKeys = keys('raw:k', CLUSTER_KEY_COUNT)
  const lru = new LRUCache<string, Record<string, unknown>>({
    max: L1_ENTRIES,
    ttl: TTL_MS,
    ttlAutopurge: false,
  })
  await fill(CLUSTER_KEY_COUNT, (i) => tiered.cachekit.set(allKeys[i]!, values[i]))
  await fill(CLUSTER_KEY_COUNT, (i) => tiered.bento.set({ key: allKeys[i]!, value: values[i] }))
  await fill(CLUSTER_KEY_COUNT, (i) => cluster.set(redisKeys[i]!, packr.pack(values[i]), 'PX', TTL_MS))
  return {
    nodes,
    keys: allKeys,
    values,
    l2,
    tiered,
    raw: { cluster, redisKeys, lru },
    async close() {
      await Promise.all([
        tiered.cachekit.close(),
        tiered.bento.disconnect(),
        l2.cachekit.close(),
        l2.bento.disconnect(),
      ])
      cluster.disconnect()
    },
  }
}
