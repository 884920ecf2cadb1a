/**
 * What a subscriber connection is asked to do and what it tells the bus. Two implementations: one
 * plain ioredis connection (`NodeSubscriber`: standalone, Sentinel, and classic pub/sub on a Cluster
 * node) and a Cluster with one connection per master for sharded pub/sub (`ClusterShardedSubscriber`).
 */

/** `channel`: SUBSCRIBE, `pattern`: PSUBSCRIBE, `sharded`: SSUBSCRIBE. */
export type SubscriptionKind = 'channel' | 'pattern' | 'sharded'

/** Events of a subscriber connection, as the bus handles them. */
export interface SubscriberEvents {
  /** A message arrived; `pattern` is the matching pattern for `pattern` subscriptions. */
  message(kind: SubscriptionKind, channel: Buffer | string, data: Buffer, pattern?: string): void
  /** The connection dropped: messages published from now until `restored` are lost. Once per drop. */
  dropped(): void
  /** After a drop, every subscription is active again. */
  restored(): void
  /** Something failed in the background (a resubscribe after a node change). */
  error(error: unknown, what: string): void
}

/** A subscriber connection. `add` and `remove` resolve once Redis confirmed them. */
export interface Subscriber {
  add(kind: SubscriptionKind, name: string): Promise<void>
  remove(kind: SubscriptionKind, name: string): Promise<void>
  close(): Promise<void>
}

/** The ioredis commands of each kind of subscription. */
export const COMMANDS = {
  channel: { add: 'subscribe', remove: 'unsubscribe' },
  pattern: { add: 'psubscribe', remove: 'punsubscribe' },
  sharded: { add: 'ssubscribe', remove: 'sunsubscribe' },
} as const satisfies Record<SubscriptionKind, { add: string; remove: string }>
