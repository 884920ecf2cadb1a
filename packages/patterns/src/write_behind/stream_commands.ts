import type { Cluster, Redis } from 'ioredis'

/** An entry as XREADGROUP / XAUTOCLAIM return it; fields are `null` once the entry was trimmed. */
export type RawEntry = [id: string, fields: string[] | null]

/** What XINFO GROUPS says about one group. */
export interface GroupInfo {
  lastDeliveredId: string
  pending: number
  /** Entries not yet delivered; `null` when Redis cannot tell (after deletions). */
  undelivered: number | null
}

/** Creates the group at the start of the stream (and the stream), so no entry written before is skipped. */
export async function ensureGroup(client: Redis | Cluster, stream: string, group: string): Promise<true> {
  try {
    await client.xgroup('CREATE', stream, group, '0', 'MKSTREAM')
  } catch (error) {
    if (!(error instanceof Error && error.message.startsWith('BUSYGROUP'))) throw error
  }
  return true
}

export async function groupInfo(
  client: Redis | Cluster,
  stream: string,
  group: string,
): Promise<GroupInfo | undefined> {
  let groups: unknown[][]
  try {
    groups = (await client.xinfo('GROUPS', stream)) as unknown[][]
  } catch (error) {
    // No stream (deleted, or a server that came back empty): no group either.
    if (error instanceof Error && /no such key/i.test(error.message)) return undefined
    throw error
  }
  for (const flat of groups) {
    const info = new Map<string, unknown>()
    for (let i = 0; i + 1 < flat.length; i += 2) info.set(String(flat[i]), flat[i + 1])
    if (info.get('name') !== group) continue
    const lag = info.get('lag')
    return {
      lastDeliveredId: String(info.get('last-delivered-id')),
      pending: Number(info.get('pending')),
      undelivered: typeof lag === 'number' ? lag : null,
    }
  }
  return undefined
}

/**
 * Entries of the stream not yet acknowledged by the group: pending plus undelivered. Past `limit`,
 * the count stops at `limit` (when Redis cannot give the undelivered count, it is counted with a
 * bounded XRANGE).
 */
export async function measureLag(
  client: Redis | Cluster,
  stream: string,
  group: string,
  limit: number,
): Promise<number> {
  const info = await groupInfo(client, stream, group)
  if (!info) return 0
  if (info.undelivered !== null) return info.pending + info.undelivered
  const count = Number.isFinite(limit) ? limit + 1 : 10_000
  const after = (await client.xrange(stream, `(${info.lastDeliveredId}`, '+', 'COUNT', count)) as RawEntry[]
  return info.pending + after.length
}

/** The id of the newest entry of the stream, or `undefined` when it is empty. */
export async function lastEntryId(client: Redis | Cluster, stream: string): Promise<string | undefined> {
  const [last] = (await client.xrevrange(stream, '+', '-', 'COUNT', 1)) as RawEntry[]
  return last?.[0]
}

/** True for an ioredis Cluster; checked by property so two copies of ioredis in an app still agree. */
export function isCluster(client: Redis | Cluster): client is Cluster {
  return (client as { isCluster?: unknown }).isCluster === true
}

/**
 * The connection for blocking reads (the same recipe as `streamConsumer` in `@cachekit/pubsub`): it
 * waits for Redis rather than failing fast, and the client's `commandTimeout`, which would cut every
 * BLOCK short, is replaced by ioredis' `blockingTimeout` (BLOCK plus a grace period), so a read on a
 * half-open connection still ends.
 */
export function openReader(client: Redis | Cluster, blockMs: number, consumer: string): Redis | Cluster {
  const overrides = {
    enableOfflineQueue: true,
    maxRetriesPerRequest: null,
    commandTimeout: undefined,
    blockingTimeout: blockMs,
    blockingTimeoutGrace: 1_000,
    // CLIENT SETNAME refuses spaces and characters outside `!`..`~`.
    connectionName: `cachekit-write-behind:${consumer.replace(/[^\x21-\x7e]/g, '_')}`,
  }
  const reader = isCluster(client)
    ? client.duplicate([], {
        enableOfflineQueue: true,
        lazyConnect: false,
        redisOptions: { ...client.options.redisOptions, ...overrides },
      })
    : client.duplicate({ ...overrides, lazyConnect: false })
  reader.on('error', () => undefined)
  return reader
}
