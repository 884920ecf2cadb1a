/**
 * The Bus contract: how instances of one app tell each other what changed. Every message carries
 * the sender's instance id and a per-sender sequence number, so a receiver ignores its own messages
 * and can notice one it missed (and then drop its L1 copies rather than serve them stale).
 */
export interface Bus {
  /** The id of this instance, stamped on every message it publishes. */
  readonly instanceId: string
  /** Publishes a payload on a channel. */
  publish<T>(channel: string, payload: T): Promise<void>
  /** Calls `handler` for every message on `channel`; resolves with a function that unsubscribes. */
  subscribe<T>(channel: string, handler: BusHandler<T>): Promise<Unsubscribe>
  /** Unsubscribes everything and releases connections the bus owns. */
  close(): Promise<void>
  /**
   * Optional: tells when messages may have been lost — the subscriber connection dropped, or a
   * sender's sequence skipped. Whoever keeps copies based on bus messages (an L1) must then drop
   * them. Returns a function that stops listening.
   */
  onLoss?(listener: (loss: BusLoss) => void): () => void
  /**
   * Optional: reports writes to keys under `prefix` made by any client of the shared store (another
   * app, `redis-cli`), not only by caches that publish on this bus — Redis client-side tracking.
   * `null` means "anything may have changed" (a flush, a lost tracking connection). Resolves with a
   * function that stops tracking.
   */
  trackKeys?(prefix: string, listener: (keys: string[] | null) => void): Promise<() => Promise<void>>
}

/** Why a bus may have missed messages. */
export interface BusLoss {
  /** `disconnected`: the subscriber connection dropped; `gap`: a sender's sequence skipped. */
  readonly reason: 'disconnected' | 'gap'
  /** The channel concerned, when known. */
  readonly channel?: string
  /** The sender whose sequence skipped, for `gap`. */
  readonly instanceId?: string
  /** How many messages were skipped, for `gap`. */
  readonly missed?: number
}

/** A message as a subscriber receives it. */
export interface BusMessage<T = unknown> {
  readonly channel: string
  readonly payload: T
  /** Id of the publishing instance. */
  readonly instanceId: string
  /** Sequence number of the message among those its sender published, starting at 1. */
  readonly seq: number
  /** When the sender published it (ms since the epoch). */
  readonly sentAt: number
}

/** Receives bus messages. */
export type BusHandler<T = unknown> = (message: BusMessage<T>) => void

/** Stops a subscription. */
export type Unsubscribe = () => Promise<void>
