import type { Redis } from 'ioredis'
import { COMMANDS, type Subscriber, type SubscriberEvents, type SubscriptionKind } from './subscriber.js'

/** Options of a `NodeSubscriber`. */
export interface NodeSubscriberOptions {
  /**
   * Opens a subscriber connection. Called once, and again each time the connection ends for good
   * when `replaceOnEnd` is set; `failed` is the `host:port` of the connection that ended, to avoid.
   * May return `undefined` when no node is known yet; it is asked again shortly.
   */
  open: (failed?: string) => Redis | undefined
  /**
   * Cluster: when the node stops answering, move to another one (classic pub/sub is broadcast to every
   * node of a cluster, so any node will do). Standalone and Sentinel: the connection's own
   * `retryStrategy` decides, and a connection that ended stays ended.
   */
  replaceOnEnd: boolean
  events: SubscriberEvents
}

/** How long to wait before asking `open` again when it had no node to offer. */
const RETRY_OPEN_MS = 500

/**
 * One ioredis connection in subscriber mode.
 *
 * On a reconnect of the same connection, ioredis subscribes again to every channel, pattern and shard
 * channel it had confirmed (`autoResubscribe`, forced on). It says nothing when that is done, so after
 * `ready` we send a PING: replies come in order, so once the PING is answered the resubscriptions are
 * too, and the bus can say the subscriptions are back. When a connection is replaced by one to another
 * node, that one starts empty and we subscribe it ourselves from `wanted`.
 */
export class NodeSubscriber implements Subscriber {
  private redis: Redis | undefined
  private readonly wanted: Record<SubscriptionKind, Set<string>> = {
    channel: new Set(),
    pattern: new Set(),
    sharded: new Set(),
  }
  /** Connected and subscribed; a drop is reported only from this state, hence once per drop. */
  private up = false
  /** A drop was reported and `restored` is still owed. */
  private down = false
  private closed = false
  private retryTimer: NodeJS.Timeout | undefined
  private waiters: Array<() => void> = []

  constructor(private readonly options: NodeSubscriberOptions) {
    this.replace(undefined)
  }

  async add(kind: SubscriptionKind, name: string): Promise<void> {
    this.wanted[kind].add(name)
    const redis = await this.connection()
    try {
      await redis[COMMANDS[kind].add](name)
    } catch (error) {
      this.wanted[kind].delete(name)
      // A SUBSCRIBE that timed out (the client's `commandTimeout`) while disconnected is still queued
      // and would go out on reconnect; an UNSUBSCRIBE queued behind it undoes it.
      if (redis === this.redis && !this.closed) redis[COMMANDS[kind].remove](name).catch(() => undefined)
      throw error
    }
    this.up = true
  }

  async remove(kind: SubscriptionKind, name: string): Promise<void> {
    this.wanted[kind].delete(name)
    await (await this.connection())[COMMANDS[kind].remove](name)
  }

  async close(): Promise<void> {
    this.closed = true
    clearTimeout(this.retryTimer)
    for (const wake of this.waiters) wake()
    const redis = this.redis
    this.redis = undefined
    if (!redis) return
    // QUIT ends the subscriptions on the server; a connection that is not up has nothing to say goodbye to.
    if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect())
    else redis.disconnect()
  }

  /** The current connection, waiting while a replacement has no node yet. */
  private async connection(): Promise<Redis> {
    while (!this.redis && !this.closed) await new Promise<void>((wake) => this.waiters.push(wake))
    if (!this.redis) throw new Error('the subscriber connection is closed')
    return this.redis
  }

  private replace(failed: string | undefined): void {
    if (this.closed) return
    const redis = this.options.open(failed)
    this.redis = redis
    if (!redis) {
      this.retryTimer = setTimeout(() => this.replace(failed), RETRY_OPEN_MS)
      return
    }
    this.listen(redis)
    const waiters = this.waiters
    this.waiters = []
    for (const wake of waiters) wake()
    // A replacement starts with no subscription: send them now; the offline queue holds them until
    // the connection is ready, and `onReady` waits for their replies before announcing `restored`.
    for (const kind of Object.keys(COMMANDS) as SubscriptionKind[]) {
      for (const name of this.wanted[kind]) {
        redis[COMMANDS[kind].add](name).catch((error: unknown) =>
          this.options.events.error(error, `${COMMANDS[kind].add} ${name} on a new node`),
        )
      }
    }
  }

  private listen(redis: Redis): void {
    const { events } = this.options
    redis.on('messageBuffer', (channel: Buffer, data: Buffer) => events.message('channel', channel, data))
    redis.on('pmessageBuffer', (pattern: string | Buffer, channel: Buffer, data: Buffer) =>
      events.message('pattern', channel, data, pattern.toString()),
    )
    redis.on('smessageBuffer', (channel: Buffer, data: Buffer) => events.message('sharded', channel, data))
    // Connection errors come with every failed reconnect; what matters to the bus is the drop itself,
    // reported as a loss. Without a listener ioredis would print each of them.
    redis.on('error', () => undefined)
    redis.on('ready', () => this.onReady(redis))
    // 'close' comes first on a drop; 'reconnecting' and 'end' follow. Listening to all three keeps a
    // drop from going unreported whatever ioredis emits, and `up` makes it one report per drop.
    redis.on('close', () => this.onDrop(redis))
    redis.on('reconnecting', () => this.onDrop(redis))
    redis.on('end', () => {
      this.onDrop(redis)
      if (this.options.replaceOnEnd && redis === this.redis && !this.closed) {
        this.replace(`${redis.options.host}:${redis.options.port}`)
      }
    })
  }

  private onDrop(redis: Redis): void {
    if (redis !== this.redis || this.closed || !this.up) return
    this.up = false
    this.down = true
    this.options.events.dropped()
  }

  private onReady(redis: Redis): void {
    if (redis !== this.redis || this.closed) return
    if (!this.down) {
      if (this.hasSubscriptions()) this.up = true
      return
    }
    // The resubscriptions (ioredis' own on a reconnect, ours on a replacement) were written before this
    // event; the PING's reply comes after theirs.
    redis.ping().then(
      () => {
        if (redis !== this.redis || this.closed || !this.down) return
        this.down = false
        this.up = true
        this.options.events.restored()
      },
      () => undefined, // dropped again: that drop is already being handled
    )
  }

  private hasSubscriptions(): boolean {
    return this.wanted.channel.size + this.wanted.pattern.size + this.wanted.sharded.size > 0
  }
}
