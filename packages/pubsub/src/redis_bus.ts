import { randomBytes } from 'node:crypto'
import {
  type Bus,
  BusFailureError,
  type BusHandler,
  type BusMessage,
  type CacheError,
  type Codec,
  escapeGlob,
  globToRegExp,
  InvalidOptionError,
  type Unsubscribe,
} from '@cachekit/core'
import type { Cluster, Redis } from 'ioredis'
import type {
  PatternSubscribeOptions,
  PublishOptions,
  RedisBusLoss,
  RedisBusOptions,
  RedisBusStats,
  SubscribeOptions,
} from './bus_options.js'
import { ClusterShardedSubscriber } from './cluster_sharded_subscriber.js'
import { encodeEnvelope, isInstanceId, MAX_INSTANCE_ID_LENGTH, readEnvelope } from './envelope.js'
import { MalformedMessageError } from './errors.js'
import { trackKeys } from './key_tracking.js'
import { NodeSubscriber } from './node_subscriber.js'
import { SequenceCounter } from './sequence_counter.js'
import { SequenceTracker } from './sequence_tracker.js'
import type { Subscriber, SubscriberEvents, SubscriptionKind } from './subscriber.js'
import {
  clusterReady,
  connectionName,
  isCluster,
  openClusterNodeSubscriber,
  openShardedSubscriber,
  openStandaloneSubscriber,
} from './subscriber_connections.js'
import { SubscriptionRegistry } from './subscription_registry.js'

/** A bus on Redis pub/sub; see `redisBus`. */
export interface RedisBus extends Bus {
  /** This instance's id, stamped on every message it publishes. */
  readonly instanceId: string
  /** The `channelPrefix` the bus was made with. */
  readonly channelPrefix: string
  /**
   * Publishes `payload` on `channel` (PUBLISH, or SPUBLISH when sharded). Rejects with a
   * `BusFailureError` when Redis does not take it, or a `CodecEncodeError` for a payload that cannot be
   * encoded. A message that fails still uses up its sequence number, so receivers learn one was lost.
   */
  publish<T>(channel: string, payload: T, options?: PublishOptions): Promise<void>
  /**
   * Calls `handler` for every message another instance publishes on `channel`. Resolves once Redis
   * confirmed the subscription, with a function that removes this handler (the Redis subscription
   * goes with the last handler of the channel).
   */
  subscribe<T>(channel: string, handler: BusHandler<T>, options?: SubscribeOptions<T>): Promise<Unsubscribe>
  /**
   * Calls `handler` for every message on the channels matching a Redis glob (`*`, `?`, `[a-z]`, `\`
   * escapes), PSUBSCRIBE. The bus' `channelPrefix` is prepended escaped; escape literal parts of your
   * own with `escapeGlob`. Patterns are never sharded: they only see messages published without
   * sharding (`publish(channel, payload, { sharded: false })` on a Cluster).
   */
  subscribePattern<T>(
    pattern: string,
    handler: BusHandler<T>,
    options?: PatternSubscribeOptions<T>,
  ): Promise<Unsubscribe>
  /**
   * Redis client-side tracking (BCAST, NOLOOP) of keys under `prefix`: `listener` hears the keys any
   * other Redis client writes, and `null` when tracking was interrupted. Standalone and Sentinel only.
   * A cache turns it on with `createCache({ bus, tracking: true })`.
   */
  trackKeys(prefix: string, listener: (keys: string[] | null) => void): Promise<() => Promise<void>>
  /** Listens for possible message losses (see `RedisBusLoss`); returns a function that stops listening. */
  onLoss(listener: (loss: RedisBusLoss) => void): () => void
  /**
   * Listens for failures that cannot be thrown at a caller: malformed messages (`MalformedMessageError`),
   * handlers that throw (`BusFailureError` with the handler's error as `cause`), a failed resubscribe.
   */
  onError(listener: (error: CacheError) => void): () => void
  /** Counters since the bus was created. */
  stats(): RedisBusStats
  /** Drops every handler and quits the subscriber connections (and the client, with `closeClient`). */
  close(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

/** A handler with its filter, as registered. */
interface Registration {
  readonly handler: BusHandler<unknown>
  readonly filter: ((message: BusMessage<unknown>) => boolean) | undefined
}

/** How long a subscription on a Cluster waits for the client to know its nodes. */
const CLUSTER_READY_TIMEOUT_MS = 10_000

/**
 * Creates a message bus on Redis pub/sub: the `Bus` of `@cachekit/core` (pass it as `bus` to
 * `createCache` so L1 copies on other instances are dropped), and a typed bus for app messages.
 *
 * - Publishes on `client`; receives on a dedicated subscriber connection duplicated from it, opened at
 *   the first subscription.
 * - Every message is an envelope with the sender's instance id, a per-channel sequence number, the send
 *   time and the payload; an instance ignores its own messages.
 * - On a Cluster, channels use sharded pub/sub (SSUBSCRIBE, one connection per master) unless
 *   `sharded: false`; patterns use PSUBSCRIBE on one node.
 * - Subscriptions come back by themselves after a reconnect; losses are reported through `onLoss`:
 *   `disconnected` for a dropped connection, `gap` when a sender's sequence skips.
 *
 * @example
 * const bus = redisBus({ client: createRedis(process.env.REDIS_URL), closeClient: true })
 * await bus.subscribe<{ id: string }>('user:updated', ({ payload, instanceId }) => {
 *   console.log(`user ${payload.id} changed on ${instanceId}`)
 * })
 * await bus.publish('user:updated', { id: '42' })
 */
export function redisBus(options: RedisBusOptions): RedisBus {
  return new RedisPubSubBus(options)
}

class RedisPubSubBus implements RedisBus {
  readonly instanceId: string
  readonly channelPrefix: string
  private readonly client: Redis | Cluster
  private readonly sharded: boolean
  private readonly codec: Codec | undefined
  private readonly closeClient: boolean
  /** ioredis applies a client's `keyPrefix` to shard channels (they are keys), not to channels. */
  private readonly keyPrefix: string
  private readonly counter = new SequenceCounter()
  private readonly tracker = new SequenceTracker()
  private readonly registry: SubscriptionRegistry<Registration>
  private readonly lossListeners = new Set<(loss: RedisBusLoss) => void>()
  private readonly errorListeners = new Set<(error: CacheError) => void>()
  private readonly counters: RedisBusStats = {
    published: 0,
    received: 0,
    ignoredOwn: 0,
    malformed: 0,
    gaps: 0,
    missed: 0,
    disconnects: 0,
    handlerErrors: 0,
  }
  /** The subscriber connections, opened at the first subscription of their kind. */
  private readonly trackings = new Set<Promise<() => Promise<void>>>()
  private classicSubscriber: Promise<Subscriber> | undefined
  private shardedSubscriber: Promise<Subscriber> | undefined
  private closing: Promise<void> | undefined
  private readonly events: SubscriberEvents = {
    message: (kind, channel, data, pattern) => this.receive(kind, channel, data, pattern),
    dropped: () => this.dropped(),
    restored: () => this.emitLoss({ reason: 'disconnected', phase: 'restored' }),
    error: (error, what) =>
      this.report(new BusFailureError(`[cachekit/pubsub] ${what} failed`, { cause: error })),
  }

  constructor(options: RedisBusOptions) {
    const { client } = options
    if (!client || typeof (client as Partial<Redis>).publish !== 'function') {
      throw new InvalidOptionError('[cachekit/pubsub] `client` must be an ioredis Redis or Cluster')
    }
    const channelPrefix = options.channelPrefix ?? ''
    if (typeof channelPrefix !== 'string') {
      throw new InvalidOptionError('[cachekit/pubsub] `channelPrefix` must be a string')
    }
    if (options.instanceId !== undefined && !isInstanceId(options.instanceId)) {
      throw new InvalidOptionError(
        `[cachekit/pubsub] \`instanceId\` must be a non-empty string of at most ${MAX_INSTANCE_ID_LENGTH} characters without NUL`,
      )
    }
    this.client = client
    this.channelPrefix = channelPrefix
    this.instanceId = options.instanceId ?? randomBytes(9).toString('base64url')
    this.sharded = options.sharded ?? isCluster(client)
    this.codec = options.codec
    this.closeClient = options.closeClient ?? true
    const keyPrefix = client.options.keyPrefix
    this.keyPrefix = typeof keyPrefix === 'string' ? keyPrefix : ''
    this.registry = new SubscriptionRegistry<Registration>(
      (kind, name, op) => this.applySubscription(kind, name, op),
      (kind, name) => this.forgetSequences(kind, name),
    )
  }

  async publish<T>(channel: string, payload: T, options: PublishOptions = {}): Promise<void> {
    this.assertOpen('publish')
    checkName(channel, 'channel')
    const sharded = options.sharded ?? this.sharded
    const name = this.channelPrefix + channel
    const stream = streamKey(sharded, name)
    const seq = this.counter.peek(stream)
    // Encoding first: a payload that cannot be encoded is the caller's bug and sends nothing, so it
    // must not use up a sequence number and make receivers report a loss.
    const bytes = encodeEnvelope(
      { instanceId: this.instanceId, seq, sentAt: Date.now(), payload },
      this.codec,
    )
    this.counter.commit(stream, seq)
    try {
      if (sharded) await this.client.spublish(name, bytes)
      else await this.client.publish(name, bytes)
    } catch (error) {
      throw new BusFailureError(`[cachekit/pubsub] could not publish on "${channel}"`, { cause: error })
    }
    this.counters.published++
  }

  async subscribe<T>(
    channel: string,
    handler: BusHandler<T>,
    options: SubscribeOptions<T> = {},
  ): Promise<Unsubscribe> {
    checkName(channel, 'channel')
    const kind: SubscriptionKind = (options.sharded ?? this.sharded) ? 'sharded' : 'channel'
    return this.add(kind, this.channelPrefix + channel, handler, options.filter)
  }

  async subscribePattern<T>(
    pattern: string,
    handler: BusHandler<T>,
    options: PatternSubscribeOptions<T> = {},
  ): Promise<Unsubscribe> {
    checkName(pattern, 'pattern')
    // The prefix is a literal: `app*:` must not also match `appX:`.
    return this.add('pattern', escapeGlob(this.channelPrefix) + pattern, handler, options.filter)
  }

  onLoss(listener: (loss: RedisBusLoss) => void): () => void {
    this.lossListeners.add(listener)
    return () => this.lossListeners.delete(listener)
  }

  trackKeys(prefix: string, listener: (keys: string[] | null) => void): Promise<() => Promise<void>> {
    this.assertOpen('trackKeys')
    const stop = trackKeys(this.client, prefix, this.instanceId, listener, (error) => this.report(error))
    this.trackings.add(stop)
    return stop.then((stopTracking) => async () => {
      this.trackings.delete(stop)
      await stopTracking()
    })
  }

  onError(listener: (error: CacheError) => void): () => void {
    this.errorListeners.add(listener)
    return () => this.errorListeners.delete(listener)
  }

  stats(): RedisBusStats {
    return { ...this.counters }
  }

  close(): Promise<void> {
    this.closing ??= this.shutDown()
    return this.closing
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  private async shutDown(): Promise<void> {
    this.registry.clear()
    const trackings = await Promise.allSettled([...this.trackings])
    await Promise.allSettled(
      trackings.map((result) => (result.status === 'fulfilled' ? result.value() : undefined)),
    )
    const subscribers = await Promise.allSettled([this.classicSubscriber, this.shardedSubscriber])
    await Promise.allSettled(
      subscribers.map((result) => (result.status === 'fulfilled' ? result.value?.close() : undefined)),
    )
    // Another part sharing the client may have quit it already.
    if (this.closeClient && this.client.status !== 'end') {
      await this.client.quit().catch(() => this.client.disconnect())
    }
  }

  private async add<T>(
    kind: SubscriptionKind,
    name: string,
    handler: BusHandler<T>,
    filter: ((message: BusMessage<T>) => boolean) | undefined,
  ): Promise<Unsubscribe> {
    this.assertOpen('subscribe')
    if (typeof handler !== 'function')
      throw new InvalidOptionError('[cachekit/pubsub] a handler must be a function')
    if (filter !== undefined && typeof filter !== 'function') {
      throw new InvalidOptionError('[cachekit/pubsub] `filter` must be a function')
    }
    const registration = { handler, filter } as Registration
    try {
      return await this.registry.add(kind, name, registration)
    } catch (error) {
      if (error instanceof BusFailureError) throw error
      throw new BusFailureError(`[cachekit/pubsub] could not subscribe to "${name}"`, { cause: error })
    }
  }

  private async applySubscription(kind: SubscriptionKind, name: string, op: 'add' | 'remove'): Promise<void> {
    const subscriber = await this.subscriberFor(kind)
    // A close that started while the subscriber was opening: do not subscribe a closing connection.
    if (this.closing && op === 'add') throw new BusFailureError('[cachekit/pubsub] the bus is closed')
    try {
      if (op === 'add') await subscriber.add(kind, name)
      else await subscriber.remove(kind, name)
    } catch (error) {
      throw new BusFailureError(
        `[cachekit/pubsub] could not ${op === 'add' ? 'subscribe to' : 'unsubscribe from'} "${name}"`,
        {
          cause: error,
        },
      )
    }
  }

  private subscriberFor(kind: SubscriptionKind): Promise<Subscriber> {
    // A connection opened now would never be closed.
    if (this.closing) return Promise.reject(new BusFailureError('[cachekit/pubsub] the bus is closed'))
    const client = this.client
    const name = connectionName('bus', this.instanceId)
    if (!isCluster(client)) {
      this.classicSubscriber ??= Promise.resolve(
        new NodeSubscriber({
          open: () => openStandaloneSubscriber(client, name),
          replaceOnEnd: false,
          events: this.events,
        }),
      )
      return this.classicSubscriber
    }
    if (kind === 'sharded') {
      this.shardedSubscriber ??= Promise.resolve(
        new ClusterShardedSubscriber(() => openShardedSubscriber(client, name), this.events),
      )
      return this.shardedSubscriber
    }
    if (!this.classicSubscriber) {
      // The nodes of a cluster are known once its client is ready.
      const opening = clusterReady(client, CLUSTER_READY_TIMEOUT_MS).then(
        () =>
          new NodeSubscriber({
            open: (failed) => openClusterNodeSubscriber(client, name, failed),
            replaceOnEnd: true,
            events: this.events,
          }),
      )
      // A failed wait is not kept: the next subscription tries again.
      opening.catch(() => {
        if (this.classicSubscriber === opening) this.classicSubscriber = undefined
      })
      this.classicSubscriber = opening
    }
    return this.classicSubscriber
  }

  private receive(kind: SubscriptionKind, rawChannel: Buffer | string, data: Buffer, pattern?: string): void {
    if (this.closing) return
    let name = rawChannel.toString()
    if (kind === 'sharded' && this.keyPrefix && name.startsWith(this.keyPrefix)) {
      name = name.slice(this.keyPrefix.length)
    }
    const channel = name.startsWith(this.channelPrefix) ? name.slice(this.channelPrefix.length) : name
    const read = readEnvelope(data, this.codec)
    if (read.problem) {
      this.counters.malformed++
      this.report(new MalformedMessageError(channel, read.problem.reason, { cause: read.problem.cause }))
      return
    }
    const { instanceId, seq, sentAt, payload } = read.envelope
    if (instanceId === this.instanceId) {
      this.counters.ignoredOwn++
      return
    }
    this.counters.received++
    const missed = this.tracker.observe(streamKey(kind === 'sharded', name), instanceId, seq)
    if (missed > 0) {
      this.counters.gaps++
      this.counters.missed += missed
      this.emitLoss({ reason: 'gap', channel, instanceId, missed })
    }
    const handlers = this.registry.handlers(kind, kind === 'pattern' ? (pattern ?? '') : name)
    if (!handlers || handlers.size === 0) return
    const message: BusMessage<unknown> = { channel, payload, instanceId, seq, sentAt }
    for (const registration of [...handlers]) this.deliver(registration, message)
  }

  private deliver(registration: Registration, message: BusMessage<unknown>): void {
    try {
      if (registration.filter && !registration.filter(message)) return
      const result: unknown = registration.handler(message)
      // Handlers are typed to return nothing, but an async one returns a promise: its rejection is
      // reported too rather than left unhandled.
      if (isThenable(result)) result.then(undefined, (error) => this.handlerFailed(message.channel, error))
    } catch (error) {
      this.handlerFailed(message.channel, error)
    }
  }

  private handlerFailed(channel: string, error: unknown): void {
    this.counters.handlerErrors++
    this.report(new BusFailureError(`[cachekit/pubsub] a handler of "${channel}" failed`, { cause: error }))
  }

  private dropped(): void {
    this.counters.disconnects++
    // Whatever was missed while disconnected is covered by this loss; without the reset, the next
    // message of every sender would be reported again as a gap.
    this.tracker.reset()
    this.emitLoss({ reason: 'disconnected', phase: 'dropped' })
  }

  private forgetSequences(kind: SubscriptionKind, name: string): void {
    // A later subscription to the same channels starts from a fresh baseline, not a false gap.
    if (kind === 'pattern') {
      const matches = globToRegExp(name)
      this.tracker.forgetChannels((stream) => stream.startsWith('c:') && matches.test(stream.slice(2)))
    } else {
      const stream = streamKey(kind === 'sharded', name)
      this.tracker.forgetChannels((key) => key === stream)
    }
  }

  private emitLoss(loss: RedisBusLoss): void {
    for (const listener of [...this.lossListeners]) {
      try {
        listener(loss)
      } catch {
        // A listener that throws must not stop the others nor the delivery of the message.
      }
    }
  }

  private report(error: CacheError): void {
    for (const listener of [...this.errorListeners]) {
      try {
        listener(error)
      } catch {
        // Same as for loss listeners.
      }
    }
  }

  private assertOpen(what: string): void {
    if (this.closing) throw new BusFailureError(`[cachekit/pubsub] cannot ${what}: the bus is closed`)
  }
}

/** Sequences run per channel, and a sharded channel is another stream than a classic one of the same name. */
function streamKey(sharded: boolean, name: string): string {
  return `${sharded ? 's' : 'c'}:${name}`
}

function checkName(name: unknown, what: string): void {
  if (typeof name !== 'string' || name === '') {
    throw new InvalidOptionError(`[cachekit/pubsub] a ${what} must be a non-empty string`)
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function'
}
