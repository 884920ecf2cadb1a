/**
 * Reads Redis `INFO` from a standalone client or from every master of a Cluster, bounded in time,
 * so a scrape or a health check answers even while Redis hangs.
 */

/** A connection that answers `INFO` (an ioredis `Redis`). */
export interface RedisInfoClient {
  info(): Promise<string>
  readonly options?: { readonly host?: string; readonly port?: number }
}

/** A Redis Cluster client (an ioredis `Cluster`): `INFO` is read from each master. */
export interface RedisClusterInfoClient {
  nodes(role: 'master'): RedisInfoClient[]
}

/** What `checkHealth` and `cacheMetrics` accept as `client`. */
export type RedisMonitoredClient = RedisInfoClient | RedisClusterInfoClient

/** The fields of one server's INFO that monitoring uses. */
export interface RedisServerInfo {
  usedMemoryBytes: number
  /** 0 when no `maxmemory` is set. */
  maxMemoryBytes: number
  connectedClients: number
  maxClients: number
  evictedKeys: number
  keyspaceHits: number
  keyspaceMisses: number
  opsPerSecond: number
  uptimeSeconds: number
}

/** One node's answer: its INFO, or why there is none. */
export type NodeInfo =
  | { node: string; ok: true; info: RedisServerInfo; responseMs: number }
  | { node: string; ok: false; error: Error }

function isCluster(client: RedisMonitoredClient): client is RedisClusterInfoClient {
  return typeof (client as RedisClusterInfoClient).nodes === 'function'
}

function nodeName(client: RedisInfoClient): string {
  const { host = '127.0.0.1', port = 6379 } = client.options ?? {}
  return `${host}:${port}`
}

/** Parses the `key:value` lines of `INFO`; missing fields read as 0. */
export function parseInfo(text: string): RedisServerInfo {
  const fields = new Map<string, string>()
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':')
    if (colon > 0 && line[0] !== '#') fields.set(line.slice(0, colon), line.slice(colon + 1).trim())
  }
  const num = (name: string) => {
    const value = Number(fields.get(name))
    return Number.isFinite(value) ? value : 0
  }
  return {
    usedMemoryBytes: num('used_memory'),
    maxMemoryBytes: num('maxmemory'),
    connectedClients: num('connected_clients'),
    maxClients: num('maxclients'),
    evictedKeys: num('evicted_keys'),
    keyspaceHits: num('keyspace_hits'),
    keyspaceMisses: num('keyspace_misses'),
    opsPerSecond: num('instantaneous_ops_per_sec'),
    uptimeSeconds: num('uptime_in_seconds'),
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms)
    timer.unref()
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** INFO of the server, or of every master of a Cluster, each bounded by `timeoutMs`. */
export async function readRedisInfo(client: RedisMonitoredClient, timeoutMs: number): Promise<NodeInfo[]> {
  let nodes: RedisInfoClient[]
  try {
    nodes = isCluster(client) ? client.nodes('master') : [client]
  } catch (error) {
    return [{ node: 'cluster', ok: false, error: asError(error) }]
  }
  if (nodes.length === 0) return [{ node: 'cluster', ok: false, error: new Error('no master is known') }]
  return Promise.all(
    nodes.map(async (node): Promise<NodeInfo> => {
      const name = nodeName(node)
      const started = performance.now()
      try {
        const text = await withTimeout(node.info(), timeoutMs, `INFO on ${name}`)
        return { node: name, ok: true, info: parseInfo(text), responseMs: performance.now() - started }
      } catch (error) {
        return { node: name, ok: false, error: asError(error) }
      }
    }),
  )
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error))
}
