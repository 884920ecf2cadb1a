import { type Duration, InvalidOptionError, parseDuration } from '@cachekit/core'
import type { Cluster, Redis } from 'ioredis'
import type { WriteBehindEventName, WriteBehindListener } from './events.js'
import type { WriteBehindSink } from './sink.js'

/** What `writeBehind` needs of a cache: a `set`, as `Cache` from `@cachekit/core` has. */
export interface WriteBehindCache<V> {
  set(key: string, value: V): Promise<unknown> | unknown
}

/** Options of `writeBehind`. */
export interface WriteBehindOptions<V> {
  /** An ioredis Redis or Cluster (from `createRedis`); duplicated for the blocking reads. */
  client: Redis | Cluster
  /**
   * The stream key. It belongs to this queue (acknowledged entries are trimmed from it). On a Cluster
   * one stream lives on one slot; to spread the load, run one queue per stream and route each key
   * to a stream by a stable hash, never changing the mapping while entries are pending.
   */
  stream: string
  /** Where entries end up; see `WriteBehindSink`. */
  sink: WriteBehindSink<V>
  /** Updated with each write once it is in the stream, so readers see the new value at once. */
  cache?: WriteBehindCache<V>
  /** The consumer group that flushes to the sink. Default `'cachekit-write-behind'`. */
  group?: string
  /** This consumer's name in the group. Default: host name, pid and a random suffix. */
  consumer?: string
  /** Run a consumer in this instance (`false`: this instance only writes). Default `true`. */
  consume?: boolean
  /** Entries per sink call, before coalescing, 1 to 10 000. Default 100. */
  batchSize?: number
  /** The longest an entry waits for its batch to fill before it is flushed. Default `'100ms'`. */
  flushInterval?: Duration
  /** Sink calls per entry before it goes to the dead-letter stream, 1 to 100. Default 8. */
  maxAttempts?: number
  /** Wait before the first retry of a failed batch; doubles per attempt, with jitter. Default `'200ms'`. */
  retryDelay?: Duration
  /** The longest wait between two retries. Default `'30s'`. */
  maxRetryDelay?: Duration
  /**
   * Entries pending (delivered, not acknowledged) longer than this are taken over from the consumer
   * that had them: it died or stalled. Keep it above the slowest sink call. Default `'30s'`.
   */
  claimIdle?: Duration
  /** The dead-letter stream. Default: `stream` + `':dlq'` (the same slot when `stream` has a hash tag). */
  deadLetterStream?: string
  /**
   * Entries not yet acknowledged (undelivered plus pending) at which `write` stops accepting.
   * Default 100 000; `Infinity` turns back-pressure off.
   */
  maxLag?: number
  /** Past `maxLag`: `'wait'` (default) until the lag falls, or `'refuse'` with a `WriteBehindLagError`. */
  onLagExceeded?: 'wait' | 'refuse'
  /** The longest a `'wait'` lasts before it refuses after all. Default `'30s'`. */
  maxLagWait?: Duration
  /** How often the lag is measured (and a `lag` event emitted) while writing. Default `'100ms'`. */
  lagCheckInterval?: Duration
  /**
   * A hard cap on the stream's length, `XADD MAXLEN ~`. Acknowledged entries are trimmed anyway, so
   * this only matters when the sink falls far behind: entries trimmed before they reach it are lost
   * (reported by the `lost` event). Must be above `maxLag`. Default `max(1 000 000, 2 × maxLag)`.
   */
  maxLen?: number
  /** Trim acknowledged entries from the stream (`XTRIM MINID ~`). Default `true`. */
  trimAcknowledged?: boolean
  /** Turns a value into the string stored in the stream. Default `JSON.stringify`. */
  serialize?: (value: V) => string
  /** Turns a stored string back into a value. Default `JSON.parse`. */
  deserialize?: (raw: string) => V
  /** Listeners to attach at once, so nothing emitted at start is missed. */
  on?: { [E in WriteBehindEventName]?: WriteBehindListener<E> }
  /** `close()` also quits `client`. Default `true`, like every cachekit part handed a client. */
  closeClient?: boolean
}

/** The options with every default applied and checked. */
export interface ResolvedOptions<V> {
  client: Redis | Cluster
  stream: string
  sink: WriteBehindSink<V>
  cache: WriteBehindCache<V> | undefined
  group: string
  consumer: string | undefined
  consume: boolean
  batchSize: number
  flushIntervalMs: number
  maxAttempts: number
  retryDelayMs: number
  maxRetryDelayMs: number
  claimIdleMs: number
  deadLetterStream: string
  maxLag: number
  onLagExceeded: 'wait' | 'refuse'
  maxLagWaitMs: number
  lagCheckIntervalMs: number
  maxLen: number
  trimAcknowledged: boolean
  serialize: (value: V) => string
  deserialize: (raw: string) => V
  closeClient: boolean
}

const DAY = 24 * 3_600_000

export function resolveOptions<V>(options: WriteBehindOptions<V>): ResolvedOptions<V> {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('[cachekit/patterns] writeBehind needs an options object')
  }
  const { client, sink, cache } = options
  if (!client || typeof (client as Partial<Redis>).xreadgroup !== 'function') {
    throw new InvalidOptionError('[cachekit/patterns] `client` must be an ioredis Redis or Cluster')
  }
  if (!sink || typeof sink.writeBatch !== 'function') {
    throw new InvalidOptionError('[cachekit/patterns] `sink` must have a `writeBatch(records)` method')
  }
  if (cache !== undefined && (cache === null || typeof cache.set !== 'function')) {
    throw new InvalidOptionError('[cachekit/patterns] `cache` must have a `set(key, value)` method')
  }
  const stream = name(options.stream, 'stream')
  const group = options.group === undefined ? 'cachekit-write-behind' : name(options.group, 'group')
  const deadLetterStream =
    options.deadLetterStream === undefined
      ? `${stream}:dlq`
      : name(options.deadLetterStream, 'deadLetterStream')
  if (deadLetterStream === stream) {
    throw new InvalidOptionError('[cachekit/patterns] `deadLetterStream` must differ from `stream`')
  }
  const maxLag = options.maxLag ?? 100_000
  if (maxLag !== Number.POSITIVE_INFINITY) integer(maxLag, 'maxLag', 1, 1e9)
  const maxLen =
    options.maxLen ?? (maxLag === Number.POSITIVE_INFINITY ? 1_000_000 : Math.max(1_000_000, 2 * maxLag))
  integer(maxLen, 'maxLen', 1, 1e12)
  if (Number.isFinite(maxLag) && maxLen <= maxLag) {
    throw new InvalidOptionError('[cachekit/patterns] `maxLen` must be greater than `maxLag`')
  }
  const onLagExceeded = options.onLagExceeded ?? 'wait'
  if (onLagExceeded !== 'wait' && onLagExceeded !== 'refuse') {
    throw new InvalidOptionError("[cachekit/patterns] `onLagExceeded` must be 'wait' or 'refuse'")
  }
  const retryDelayMs = duration(options.retryDelay, '200ms', 'retryDelay', 0, DAY)
  const maxRetryDelayMs = duration(options.maxRetryDelay, '30s', 'maxRetryDelay', 0, DAY)
  if (maxRetryDelayMs < retryDelayMs) {
    throw new InvalidOptionError('[cachekit/patterns] `maxRetryDelay` must not be below `retryDelay`')
  }
  for (const fn of ['serialize', 'deserialize'] as const) {
    if (options[fn] !== undefined && typeof options[fn] !== 'function') {
      throw new InvalidOptionError(`[cachekit/patterns] \`${fn}\` must be a function`)
    }
  }
  if (options.consumer !== undefined) name(options.consumer, 'consumer')
  return {
    client,
    stream,
    sink,
    cache,
    group,
    consumer: options.consumer,
    consume: options.consume ?? true,
    batchSize: integer(options.batchSize ?? 100, 'batchSize', 1, 10_000),
    flushIntervalMs: duration(options.flushInterval, '100ms', 'flushInterval', 1, DAY),
    maxAttempts: integer(options.maxAttempts ?? 8, 'maxAttempts', 1, 100),
    retryDelayMs,
    maxRetryDelayMs,
    claimIdleMs: duration(options.claimIdle, '30s', 'claimIdle', 1, 365 * DAY),
    deadLetterStream,
    maxLag,
    onLagExceeded,
    maxLagWaitMs: duration(options.maxLagWait, '30s', 'maxLagWait', 0, DAY),
    lagCheckIntervalMs: duration(options.lagCheckInterval, '100ms', 'lagCheckInterval', 1, DAY),
    maxLen,
    trimAcknowledged: options.trimAcknowledged ?? true,
    serialize: options.serialize ?? jsonSerialize,
    deserialize: options.deserialize ?? (JSON.parse as (raw: string) => V),
    closeClient: options.closeClient ?? true,
  }
}

function jsonSerialize<V>(value: V): string {
  return JSON.stringify(value)
}

function name(value: unknown, option: string): string {
  if (typeof value !== 'string' || value === '') {
    throw new InvalidOptionError(`[cachekit/patterns] \`${option}\` must be a non-empty string`)
  }
  return value
}

function integer(value: number, option: string, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(`[cachekit/patterns] \`${option}\` must be an integer from ${min} to ${max}`)
  }
  return value
}

function duration(
  value: Duration | undefined,
  fallback: Duration,
  option: string,
  min: number,
  max: number,
): number {
  const ms = parseDuration(value ?? fallback)
  if (ms < min || ms > max) {
    throw new InvalidOptionError(`[cachekit/patterns] \`${option}\` must be from ${min} ms to ${max} ms`)
  }
  return Math.floor(ms)
}
