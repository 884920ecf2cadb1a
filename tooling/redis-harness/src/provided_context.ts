/**
 * What the vitest globalSetup hands to tests through `provide`/`inject`, and the augmentation of
 * vitest's `ProvidedContext` that types `inject('redis')` and `test.provide.redisTopologies`.
 * Only plain data: it crosses from vitest's main process to the test workers as structured clone.
 */
import { RedisHarnessError } from './errors.js'
import type { HostAndPort } from './redis_node.js'

/** A topology the globalSetup can start. */
export type RedisTopology = 'standalone' | 'cluster' | 'sentinel'

/** Every topology, in the order the docs list them. */
export const knownTopologies: readonly RedisTopology[] = ['standalone', 'cluster', 'sentinel']

/** The standalone server of a test run. */
export interface ProvidedStandalone {
  /** `redis://127.0.0.1:<port>`, or `REDIS_URL` when that is set. */
  readonly url: string
  /** `127.0.0.1`, or the host of `REDIS_URL`. */
  readonly host: string
  /** The port, or the port of `REDIS_URL` (6379 when it names none). */
  readonly port: number
  /** True when it is the server of `REDIS_URL`, not one the harness started. */
  readonly external: boolean
}

/** The cluster of a test run. */
export interface ProvidedCluster {
  /** For `new Cluster(startupNodes)`. */
  readonly startupNodes: HostAndPort[]
  /** `redis://` URL of every node. */
  readonly urls: string[]
}

/** The sentinel topology of a test run. */
export interface ProvidedSentinel {
  /** For ioredis' `name`. */
  readonly masterName: string
  /** For ioredis' `sentinels`. */
  readonly sentinels: HostAndPort[]
  /** The master when the run started. */
  readonly master: HostAndPort
}

/** The servers of a test run; a topology the project did not select is absent. */
export interface ProvidedRedis {
  readonly standalone?: ProvidedStandalone
  readonly cluster?: ProvidedCluster
  readonly sentinel?: ProvidedSentinel
}

declare module 'vitest' {
  export interface ProvidedContext {
    /**
     * Set in a project's vitest config (`test.provide`) to choose what the redis-harness globalSetup
     * starts for that project. Default `['standalone']`.
     */
    redisTopologies: RedisTopology[]
    /** The servers the redis-harness globalSetup started; read with `inject('redis')`. */
    redis: ProvidedRedis
  }
}

/**
 * The provided servers of one topology, or a clear error saying how to select it.
 * @example
 * const cluster = requireTopology(inject('redis'), 'cluster')
 * const client = new Cluster(cluster.startupNodes)
 * @throws {RedisHarnessError} `E_REDIS_HARNESS_USAGE` when the project did not select the topology.
 */
export function requireTopology<T extends RedisTopology>(
  provided: ProvidedRedis | undefined,
  topology: T,
): NonNullable<ProvidedRedis[T]> {
  const servers = provided?.[topology]
  if (servers) return servers as NonNullable<ProvidedRedis[T]>
  throw new RedisHarnessError(
    'E_REDIS_HARNESS_USAGE',
    `no ${topology} servers were provided: add '${topology}' to test.provide.redisTopologies and ` +
      `'@cachekit/redis-harness/vitest-setup' to test.globalSetup in this project's vitest.config.ts`,
  )
}

/** Validates a `redisTopologies` selection; undefined selects `['standalone']`. */
export function parseTopologies(selection: unknown): RedisTopology[] {
  if (selection === undefined) return ['standalone']
  const valid = (value: unknown): value is RedisTopology => knownTopologies.includes(value as RedisTopology)
  if (!Array.isArray(selection) || !selection.every(valid)) {
    throw new RedisHarnessError(
      'E_REDIS_HARNESS_USAGE',
      `test.provide.redisTopologies must be an array of ${knownTopologies.map((t) => `'${t}'`).join(', ')}; ` +
        `got ${JSON.stringify(selection)}`,
    )
  }
  return [...new Set(selection)]
}
