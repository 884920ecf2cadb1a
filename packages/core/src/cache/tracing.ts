import { type TracingChannel, tracingChannel } from 'node:diagnostics_channel'
import type { Cache } from './cache.js'
import type { CacheTier } from './cache_events.js'

/** The operations published on `node:diagnostics_channel`. */
export type TracedOperation = 'get' | 'getOrSet' | 'set' | 'delete' | 'factory'

/**
 * What a traced operation's subscribers receive, one object per call through `start`, `end`,
 * `asyncStart`, `asyncEnd` and `error`. Reads fill `hit`, `tier` and `stale` before `asyncEnd`.
 */
export interface CacheOperationContext {
  operation: TracedOperation
  /** The key as the caller gave it (without the cache's prefix). */
  key: string
  /** The key as the stores see it (prefix and namespace included). */
  storeKey: string
  /** Identifies the cache and every namespace and profile view of it; see `tracingOwner`. */
  owner: object
  /** Reads: whether a value was served. */
  hit?: boolean
  /** Reads: the tier that answered, when known (an L1 hit always says `l1`). */
  tier?: CacheTier
  /** Reads: the value was past its TTL, served within grace. */
  stale?: boolean
  /** Set by diagnostics_channel: the resolved value, or the error thrown. */
  result?: unknown
  error?: unknown
}

/** The channel names, `tracing:<name>:start` and so on, for subscribers that go by name. */
export const TRACING_CHANNEL_NAMES: Readonly<Record<TracedOperation, string>> = {
  get: 'cachekit:get',
  getOrSet: 'cachekit:getOrSet',
  set: 'cachekit:set',
  delete: 'cachekit:delete',
  factory: 'cachekit:factory',
}

type Channel = TracingChannel<object, CacheOperationContext>

/** The TracingChannels core publishes on; process-wide, like every diagnostics channel. */
export const tracingChannels: Readonly<Record<TracedOperation, Channel>> = {
  get: tracingChannel(TRACING_CHANNEL_NAMES.get),
  getOrSet: tracingChannel(TRACING_CHANNEL_NAMES.getOrSet),
  set: tracingChannel(TRACING_CHANNEL_NAMES.set),
  delete: tracingChannel(TRACING_CHANNEL_NAMES.delete),
  factory: tracingChannel(TRACING_CHANNEL_NAMES.factory),
}

/**
 * True when anyone listens on `channel`. Callers check it before building a context, so tracing
 * costs one property read per call while no one subscribes. (`TracingChannel.hasSubscribers`
 * arrived in Node 20.13; the sub-channels' flags work on every Node 20.)
 */
export function isTraced(channel: Channel): boolean {
  return (
    channel.start.hasSubscribers ||
    channel.asyncEnd.hasSubscribers ||
    channel.error.hasSubscribers ||
    channel.end.hasSubscribers ||
    channel.asyncStart.hasSubscribers
  )
}

/** Runs `fn` as a traced operation; call only when `isTraced(channel)`. */
export function trace<T>(
  channel: Channel,
  context: CacheOperationContext,
  fn: (context: CacheOperationContext) => Promise<T>,
): Promise<T> {
  return channel.tracePromise(fn, context, undefined, context)
}

/**
 * The `owner` that `cache`'s operations carry in their context: the same object for a cache and
 * every namespace and profile view of it, so a subscriber keeps only the cache it watches.
 */
export function tracingOwner(cache: Cache): object {
  return (cache as unknown as { core: object }).core
}
