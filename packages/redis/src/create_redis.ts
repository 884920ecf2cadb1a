import { Cluster, Redis, type RedisOptions } from 'ioredis'
import type {
  ClusterConnectionOptions,
  CommonConnectionOptions,
  ConnectionOptions,
  RedisHost,
  SentinelConnectionOptions,
  StandaloneConnectionOptions,
} from './connection_options.js'
import { connectionFromEnv } from './env.js'
import { RedisConfigError } from './errors.js'

/**
 * Reconnect quickly but not in a tight loop: 100 ms, 200 ms, ... capped at 500 ms, so a cache is back
 * on Redis within about half a second of Redis returning, while a dead Redis costs two refused
 * connects a second per client.
 */
export function reconnectDelay(attempt: number): number {
  return Math.min(attempt * 100, 500)
}

/**
 * Creates an ioredis client with defaults that suit a cache: reconnect with backoff, a 2 s connect
 * timeout, a 1 s command timeout, and no offline queue, so a dead Redis fails fast instead of queueing.
 *
 * - `createRedis()` reads the environment: `REDIS_URL`, or `REDIS_HOST`, `REDIS_PORT`, `REDIS_USERNAME`,
 *   `REDIS_PASSWORD`, `REDIS_DB`, `REDIS_TLS`.
 * - `createRedis('rediss://user:secret@cache.internal:6380/2')` connects by URL (`rediss:` is TLS).
 * - `createRedis({ sentinels: [...], name: 'mymaster' })` finds the master through Sentinel.
 * - `createRedis({ cluster: ['10.0.0.1:7000', ...] })` connects to a Cluster.
 */
export function createRedis(input?: string | ConnectionOptions): Redis | Cluster {
  const options: ConnectionOptions =
    input === undefined ? connectionFromEnv(process.env) : typeof input === 'string' ? { url: input } : input
  const client =
    'cluster' in options
      ? createCluster(options)
      : new Redis('sentinels' in options ? sentinelOptions(options) : standaloneOptions(options))
  // Without a listener, ioredis prints every failed reconnect. The failures still reach callers:
  // each command rejects, and the cache counts and emits them as `error` events.
  client.on('error', ignoreConnectionError)
  if (!(options.offlineQueue ?? false)) failFastOnceReady(client)
  return client
}

/**
 * Commands sent before the first connection wait for it (a fresh client is not an outage), and
 * from the first `ready` on, commands fail at once while disconnected instead of queueing behind a
 * dead Redis. ioredis reads `enableOfflineQueue` on every command, so switching it here takes effect.
 */
function failFastOnceReady(client: Redis | Cluster): void {
  client.options.enableOfflineQueue = true
  client.once('ready', () => {
    client.options.enableOfflineQueue = false
  })
}

function ignoreConnectionError(): void {}

function commonOptions(options: CommonConnectionOptions): RedisOptions {
  const common: RedisOptions = {
    connectTimeout: options.connectTimeout ?? 2_000,
    commandTimeout: options.commandTimeout ?? 1_000,
    enableOfflineQueue: options.offlineQueue ?? false,
    maxRetriesPerRequest: 1,
    retryStrategy: reconnectDelay,
  }
  if (options.username !== undefined) common.username = options.username
  if (options.password !== undefined) common.password = options.password
  if (options.db !== undefined) common.db = checkDb(options.db)
  if (options.connectionName !== undefined) common.connectionName = options.connectionName
  if (options.tls) common.tls = options.tls === true ? {} : options.tls
  return common
}

function standaloneOptions(options: StandaloneConnectionOptions): RedisOptions {
  const fromUrl = options.url === undefined ? {} : parseRedisUrl(options.url)
  const merged: RedisOptions = { ...fromUrl, ...commonOptions({ ...pickCommon(fromUrl), ...options }) }
  if (options.host !== undefined) merged.host = options.host
  if (options.port !== undefined) merged.port = checkPort(options.port)
  merged.host ??= '127.0.0.1'
  merged.port ??= 6379
  return { ...merged, ...options.ioredis }
}

function sentinelOptions(options: SentinelConnectionOptions): RedisOptions {
  if (options.sentinels.length === 0) throw new RedisConfigError('`sentinels` needs at least one host')
  const sentinel: RedisOptions = {
    ...commonOptions(options),
    sentinels: options.sentinels.map(checkHost),
    name: options.name,
    role: options.role ?? 'master',
    sentinelRetryStrategy: reconnectDelay,
  }
  if (options.sentinelPassword !== undefined) sentinel.sentinelPassword = options.sentinelPassword
  return { ...sentinel, ...options.ioredis }
}

function createCluster(options: ClusterConnectionOptions): Cluster {
  if (options.cluster.length === 0) throw new RedisConfigError('`cluster` needs at least one node')
  const nodes = options.cluster.map((node) =>
    checkHost(typeof node === 'string' ? parseHostPort(node) : node),
  )
  const { db: _db, ...common } = commonOptions(options)
  if (options.db) throw new RedisConfigError('a Redis Cluster has only database 0')
  return new Cluster(nodes, {
    enableOfflineQueue: common.enableOfflineQueue ?? false,
    clusterRetryStrategy: reconnectDelay,
    redisOptions: { ...common, ...options.ioredis },
    // Refresh the slot map soon after a failover instead of after the default 5 s.
    slotsRefreshTimeout: 1_000,
    ...options.clusterOptions,
  })
}

/** Parses `redis://` and `rediss://` URLs; user, password and db are URL-decoded. */
export function parseRedisUrl(url: string): RedisOptions {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch (error) {
    throw new RedisConfigError(`not a URL: ${JSON.stringify(redact(url))}`, { cause: error })
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new RedisConfigError(`a Redis URL starts with redis:// or rediss://, not ${parsed.protocol}//`)
  }
  const options: RedisOptions = { host: parsed.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1' }
  options.port = parsed.port === '' ? 6379 : checkPort(Number(parsed.port))
  if (parsed.username) options.username = decodeURIComponent(parsed.username)
  if (parsed.password) options.password = decodeURIComponent(parsed.password)
  const db = parsed.pathname.replace(/^\//, '')
  if (db !== '') options.db = checkDb(Number(db))
  if (parsed.protocol === 'rediss:') options.tls = { servername: options.host }
  return options
}

function pickCommon(options: RedisOptions): CommonConnectionOptions {
  const common: CommonConnectionOptions = {}
  if (options.username !== undefined) common.username = options.username
  if (options.password !== undefined) common.password = options.password
  if (options.db !== undefined) common.db = options.db
  if (options.tls !== undefined) common.tls = options.tls
  return common
}

function parseHostPort(text: string): RedisHost {
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(text.trim())
  if (!match) throw new RedisConfigError(`expected host:port, got ${JSON.stringify(text)}`)
  return { host: match[1]!, port: Number(match[2]) }
}

function checkHost(host: RedisHost): RedisHost {
  if (!host.host) throw new RedisConfigError('a host needs a name or address')
  return { host: host.host, port: checkPort(host.port) }
}

function checkPort(port: number): number {
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new RedisConfigError(`port must be an integer from 1 to 65535, got ${port}`)
  }
  return port
}

function checkDb(db: number): number {
  if (!Number.isInteger(db) || db < 0)
    throw new RedisConfigError(`db must be a non-negative integer, got ${db}`)
  return db
}

/** Hides the password of a URL in error messages. */
function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@')
}
