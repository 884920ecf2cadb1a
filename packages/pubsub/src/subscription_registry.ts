import type { SubscriptionKind } from './subscriber.js'

/** Applies a subscription change on Redis. */
export type ApplySubscription = (kind: SubscriptionKind, name: string, op: 'add' | 'remove') => Promise<void>

interface Entry<R> {
  readonly handlers: Set<R>
  readonly ready: Promise<void>
}

/**
 * Handlers by Redis channel, pattern or shard channel, with one Redis subscription per name however
 * many handlers share it: the first handler subscribes, the last one to leave unsubscribes.
 *
 * Changes to one name run one after another, so a SUBSCRIBE and an UNSUBSCRIBE racing for the same
 * channel cannot reach Redis in the wrong order and leave a handler registered on an unsubscribed
 * channel.
 */
export class SubscriptionRegistry<R> {
  private readonly entries = new Map<string, Entry<R>>()
  private readonly queues = new Map<string, Promise<void>>()

  constructor(
    private readonly apply: ApplySubscription,
    private readonly removed: (kind: SubscriptionKind, name: string) => void,
  ) {}

  /** Adds a handler; resolves, once Redis confirmed the subscription, with a function that removes it. */
  async add(kind: SubscriptionKind, name: string, handler: R): Promise<() => Promise<void>> {
    const key = entryKey(kind, name)
    let entry = this.entries.get(key)
    if (!entry) {
      entry = { handlers: new Set(), ready: this.serially(key, () => this.apply(kind, name, 'add')) }
      this.entries.set(key, entry)
    }
    const current = entry
    current.handlers.add(handler)
    try {
      await current.ready
    } catch (error) {
      current.handlers.delete(handler)
      if (current.handlers.size === 0 && this.entries.get(key) === current) this.entries.delete(key)
      throw error
    }
    let removed = false
    return async () => {
      if (removed) return
      removed = true
      current.handlers.delete(handler)
      if (current.handlers.size > 0 || this.entries.get(key) !== current) return
      this.entries.delete(key)
      this.removed(kind, name)
      // Skipped when someone subscribed the name again in the meantime: their SUBSCRIBE is queued
      // after this and the subscription must stay.
      await this.serially(key, () =>
        this.entries.has(key) ? Promise.resolve() : this.apply(kind, name, 'remove'),
      )
    }
  }

  /** The handlers of a name, or `undefined`. */
  handlers(kind: SubscriptionKind, name: string): ReadonlySet<R> | undefined {
    return this.entries.get(entryKey(kind, name))?.handlers
  }

  /** Drops every handler (the bus is closing; its connections take the subscriptions with them). */
  clear(): void {
    this.entries.clear()
  }

  private serially(key: string, operation: () => Promise<void>): Promise<void> {
    const previous = this.queues.get(key) ?? Promise.resolve()
    const next = previous.catch(() => undefined).then(operation)
    this.queues.set(key, next)
    const forget = () => {
      if (this.queues.get(key) === next) this.queues.delete(key)
    }
    next.then(forget, forget)
    return next
  }
}

function entryKey(kind: SubscriptionKind, name: string): string {
  return `${kind}\0${name}`
}
