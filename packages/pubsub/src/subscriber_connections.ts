import { BusFailureError } from '@cachekit/core'
import type { Cluster, Redis, RedisOptions } from 'ioredis'

/**
 * Options every subscriber connection gets, whatever the client it comes from says.
 *
 * A client from `createRedis` turns its offline queue off once connected, so a cache fails fast while
 * Redis is down; `duplicate()` copies that. A subscriber must not: a SUBSCRIBE sent while it reconnects
 * has to wait for the connection, not fail, and ioredis' resubscribe after a reconnect must go through.
 * `maxRetriesPerRequest: null` keeps queued SUBSCRIBEs across reconnect attempts instead of failing
 * them after one.
 */
function subscriberOptions(connectionName: string): RedisOptions {
  return {
    enableOfflineQueue: true,
    maxRetriesPerRequest: null,
    autoResubscribe: true,
    lazyConnect: false,
    connectionName,
  }
}

/**
 * A CLIENT SETNAME-safe connection name: Redis refuses names with spaces or other characters outside
 * `!`..`~`, and a refused name would fail the connection itself.
 */
export function connectionName(role: string, id: string): string {
  return `cachekit-${role}:${id.replace(/[^\x21-\x7e]/g, '_')}`
}

/** True for an ioredis Cluster; checked by property so two copies of ioredis in an app still agree. */
export function isCluster(client: Redis | Cluster): client is Cluster {
  return (client as { isCluster?: unknown }).isCluster === true
}

/** A subscriber connection to the same server as `client` (standalone, or the master behind Sentinel). */
export function openStandaloneSubscriber(client: Redis, connectionName: string): Redis {
  return client.duplicate(subscriberOptions(connectionName))
}

/** Reconnect attempts on one cluster node before the subscriber moves to another node. */
const NODE_ATTEMPTS = 3

/**
 * A classic subscriber connection to one master of a cluster, picked at random (so the buses of many
 * instances spread over the nodes), avoiding `failed`. Classic pub/sub messages reach every node, so
 * any node will do. `undefined` while the client knows no node.
 */
export function openClusterNodeSubscriber(
  cluster: Cluster,
  connectionName: string,
  failed: string | undefined,
): Redis | undefined {
  const masters = cluster.nodes('master')
  const others = masters.filter((node) => `${node.options.host}:${node.options.port}` !== failed)
  const candidates = others.length > 0 ? others : masters
  const node = candidates[Math.floor(Math.random() * candidates.length)]
  if (!node) return undefined
  return node.duplicate({
    ...subscriberOptions(connectionName),
    readOnly: false,
    // A node that does not come back within a few attempts may have failed over for good: end, and let
    // the NodeSubscriber move to another node.
    retryStrategy: (attempt: number) => (attempt > NODE_ATTEMPTS ? null : Math.min(attempt * 100, 500)),
  })
}

/** A Cluster for sharded subscriptions only: one connection per master, made by ioredis. */
export function openShardedSubscriber(cluster: Cluster, connectionName: string): Cluster {
  return cluster.duplicate([], {
    shardedSubscribers: true,
    // Same reason as for `subscriberOptions`: an SSUBSCRIBE before the duplicate is ready must wait.
    enableOfflineQueue: true,
    lazyConnect: false,
    redisOptions: { ...cluster.options.redisOptions, connectionName },
  })
}

/** Resolves when a Cluster client is ready (its node list is known), connecting a lazy one. */
export function clusterReady(cluster: Cluster, timeoutMs: number): Promise<void> {
  if (cluster.status === 'ready') return Promise.resolve()
  if (cluster.status === 'wait') cluster.connect().catch(() => undefined)
  return new Promise((resolve, reject) => {
    const done = (error?: Error) => {
      clearTimeout(timer)
      cluster.off('ready', onReady)
      cluster.off('end', onEnd)
      if (error) reject(error)
      else resolve()
    }
    const onReady = () => done()
    const onEnd = () => done(new BusFailureError('[cachekit/pubsub] the cluster client has ended'))
    const timer = setTimeout(
      () =>
        done(
          new BusFailureError(`[cachekit/pubsub] the cluster client was not ready within ${timeoutMs} ms`),
        ),
      timeoutMs,
    )
    cluster.on('ready', onReady)
    cluster.on('end', onEnd)
  })
}
