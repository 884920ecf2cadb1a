import { randomUUID } from 'node:crypto'
import type { Bus, BusHandler, BusLoss, BusMessage, Unsubscribe } from '../../src/index.js'

/**
 * An in-process Bus for core's own tests: buses made from one hub deliver to each other, with
 * instance ids and sequence numbers as the contract asks. `loseConnection()` plays a dropped
 * subscriber connection. The Redis bus itself is tested in @cachekit/pubsub.
 */
export class LocalBusHub {
  private readonly buses = new Set<LocalBus>()

  createBus(): LocalBus {
    const bus = new LocalBus(this)
    this.buses.add(bus)
    return bus
  }

  deliver(message: BusMessage): void {
    for (const bus of this.buses) bus.receive(message)
  }

  remove(bus: LocalBus): void {
    this.buses.delete(bus)
  }
}

export class LocalBus implements Bus {
  readonly instanceId = randomUUID()
  published = 0
  private seq = 0
  private readonly handlers = new Map<string, Set<BusHandler>>()
  private readonly lossListeners = new Set<(loss: BusLoss) => void>()
  private readonly tracked = new Map<string, (keys: string[] | null) => void>()

  constructor(private readonly hub: LocalBusHub) {}

  async publish<T>(channel: string, payload: T): Promise<void> {
    this.published++
    const message: BusMessage<T> = {
      channel,
      payload,
      instanceId: this.instanceId,
      seq: ++this.seq,
      sentAt: Date.now(),
    }
    // Delivered asynchronously, as a network would.
    setImmediate(() => this.hub.deliver(message))
  }

  async subscribe<T>(channel: string, handler: BusHandler<T>): Promise<Unsubscribe> {
    const set = this.handlers.get(channel) ?? new Set()
    set.add(handler as BusHandler)
    this.handlers.set(channel, set)
    return async () => {
      set.delete(handler as BusHandler)
    }
  }

  onLoss(listener: (loss: BusLoss) => void): () => void {
    this.lossListeners.add(listener)
    return () => this.lossListeners.delete(listener)
  }

  async trackKeys(prefix: string, listener: (keys: string[] | null) => void): Promise<() => Promise<void>> {
    this.tracked.set(prefix, listener)
    return async () => {
      this.tracked.delete(prefix)
    }
  }

  /** Plays Redis reporting writes by some other client (a redis-cli, another app). */
  reportTrackedWrites(keys: string[] | null): void {
    for (const [prefix, listener] of this.tracked) {
      listener(keys === null ? null : keys.filter((key) => key.startsWith(prefix)))
    }
  }

  receive(message: BusMessage): void {
    if (message.instanceId === this.instanceId) return
    for (const handler of this.handlers.get(message.channel) ?? []) handler(message)
  }

  loseConnection(): void {
    for (const listener of this.lossListeners) listener({ reason: 'disconnected' })
  }

  async close(): Promise<void> {
    this.hub.remove(this)
  }
}
