import type { ClusterNode, ClusterOptions, RedisOptions } from 'ioredis'

/** A Redis client, standalone (also behind Sentinel) or Cluster. */
export type { Cluster, Redis } from 'ioredis'

/** One host of a Sentinel group or a Cluster. */
export interface RedisHost {
  host: string
  port: number
}

/** Settings shared by every kind of connection. */
export interface CommonConnectionOptions {
  /** ACL user name. */
  username?: string
  password?: string
  /** Logical database (standalone and Sentinel only; a Cluster has only 0). */
  db?: number
  /** Connect with TLS; `true` for defaults, or Node's TLS options (CA, certificates, servername). */
  tls?: boolean | RedisOptions['tls']
  /** How long a connection attempt may take, ms. Default 2000. */
  connectTimeout?: number
  /** How long one command may take before it is rejected, ms. Default 1000. */
  commandTimeout?: number
  /**
   * Queue commands while disconnected. Default false: a cache must fail fast and fall back rather
   * than pile requests up behind a dead Redis. Turn it on for clients whose commands must not be lost.
   */
  offlineQueue?: boolean
  /** Name shown by CLIENT LIST. */
  connectionName?: string
  /** Anything else ioredis accepts, applied last. */
  ioredis?: RedisOptions
}

/** A standalone server, by URL or host and port. */
export interface StandaloneConnectionOptions extends CommonConnectionOptions {
  /** `redis://[user:password@]host[:port][/db]`, or `rediss://` for TLS. */
  url?: string
  host?: string
  port?: number
}

/** A master found through Sentinel. */
export interface SentinelConnectionOptions extends CommonConnectionOptions {
  sentinels: RedisHost[]
  /** The master's name in the Sentinel configuration. */
  name: string
  /** Password of the sentinels themselves, when they have one. */
  sentinelPassword?: string
  /** Connect to a replica instead of the master (reads only). */
  role?: 'master' | 'slave'
}

/** A Redis Cluster. */
export interface ClusterConnectionOptions extends CommonConnectionOptions {
  /** Some nodes of the cluster; the rest are discovered. */
  cluster: Array<RedisHost | string>
  /** Anything else ioredis' Cluster accepts, applied last. */
  clusterOptions?: ClusterOptions
}

/** Every way `createRedis` can be told where Redis is. */
export type ConnectionOptions =
  | StandaloneConnectionOptions
  | SentinelConnectionOptions
  | ClusterConnectionOptions

export type { ClusterNode }
