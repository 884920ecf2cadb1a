import type { BusLoss, BusMessage, Codec } from '@cachekit/core'
import type { Cluster, Redis } from 'ioredis'

/** Options of `redisBus`. */
export interface RedisBusOptions {
  /**
   * The client to publish with, e.g. from `createRedis`. The bus duplicates it for its subscriber
   * connection(s), so the client itself stays usable for commands. Standalone, Sentinel or Cluster.
   */
  client: Redis | Cluster
  /**
   * Prepended to every channel and pattern, to keep the buses of several apps on one Redis apart,
   * e.g. `'shop:'`. Taken literally: glob characters in it are escaped in pattern subscriptions.
   * Default `''`.
   */
  channelPrefix?: string
  /**
   * This instance's id, stamped on every message; messages carrying it are ignored on receipt. Default:
   * 12 random characters, new for every bus. Give one (a pod name) only if it is unique among the
   * instances sharing the channels: two buses with the same id never hear each other.
   */
  instanceId?: string
  /**
   * Use sharded pub/sub (SPUBLISH / SSUBSCRIBE, Redis 7) for channels. Default: `true` when `client`
   * is a Cluster, `false` otherwise. Patterns cannot be sharded and always use PSUBSCRIBE, which only
   * sees messages published without sharding. Overridable per call.
   */
  sharded?: boolean
  /**
   * How envelopes are encoded, e.g. `msgpackCodec()` from `@cachekit/serializers` for payloads with
   * Dates, Maps or bytes. Every bus on a channel must use a codec that can read the others' messages.
   * Default: JSON.
   */
  codec?: Codec
  /**
   * `close()` also quits `client`. Default `true`, as for every cachekit part that is handed a
   * client (`redisStore`, `redisTagIndex`, `streamConsumer`): a part owns what it is given unless
   * told `closeClient: false`. Parts of one cache may share a client: `cache.close()` closes them all.
   */
  closeClient?: boolean
}

/** Options of `subscribe`. */
export interface SubscribeOptions<T = unknown> {
  /** Only messages for which this returns true reach the handler. A filter that throws is reported. */
  filter?: (message: BusMessage<T>) => boolean
  /** SSUBSCRIBE instead of SUBSCRIBE (or the reverse); default: the bus' `sharded`. */
  sharded?: boolean
}

/** Options of `subscribePattern`. */
export interface PatternSubscribeOptions<T = unknown> {
  /** Only messages for which this returns true reach the handler. A filter that throws is reported. */
  filter?: (message: BusMessage<T>) => boolean
}

/** Options of `publish`. */
export interface PublishOptions {
  /** SPUBLISH instead of PUBLISH (or the reverse); default: the bus' `sharded`. */
  sharded?: boolean
}

/**
 * A loss as `redisBus` reports it. A dropped subscriber connection is reported twice:
 * `phase: 'dropped'` when it drops (once per drop, however ioredis reports it), and
 * `phase: 'restored'` once every subscription is active again, because anything published in between
 * was missed, including invalidations of values an L1 cached during the outage.
 */
export interface RedisBusLoss extends BusLoss {
  /** For `disconnected`: `dropped` when the connection drops, `restored` when subscriptions are back. */
  readonly phase?: 'dropped' | 'restored'
}

/** Counters of a bus since it was created. */
export interface RedisBusStats {
  /** Messages published. */
  published: number
  /** Valid messages received from other instances (before filters). */
  received: number
  /** Messages of this instance that came back and were ignored. */
  ignoredOwn: number
  /** Messages dropped because they were not valid envelopes. */
  malformed: number
  /** Sequence gaps seen, and how many messages they add up to. */
  gaps: number
  missed: number
  /** Times a subscriber connection dropped. */
  disconnects: number
  /** Handlers or filters that threw or rejected. */
  handlerErrors: number
}
