import type { Bus, BusMessage } from '../bus.js'
import type { CacheEntry } from '../entry.js'
import { BusFailureError, type CacheError } from '../errors.js'
import type { Store } from '../store.js'
import type { ErrorReporter } from './error_reporter.js'
import type { InvalidationEpochs } from './invalidation_epochs.js'
import { dependencyTag } from './tag_names.js'

const RETRY_FIRST_MS = 250
const RETRY_MAX_MS = 5_000

/** What one instance tells the others about its L2 writes. Keys are store keys. */
export type L1Message =
  | { op: 'write'; keys: string[]; at?: number; unindexed?: true }
  | { op: 'delete'; keys: string[]; at?: number; unindexed?: true }
  | { op: 'clear'; prefix: string }
  | { op: 'match'; pattern: string }
  | { op: 'tags'; tags: string[]; at: number; lazy: boolean; unindexed?: true }

export interface L1SyncOptions {
  bus: Bus
  /** One channel per cache prefix: caches sharing keys share invalidations. */
  channel: string
  l1: Store<CacheEntry> | undefined
  /** The cache's root prefix; a lost message clears every L1 key under it. */
  root: string
  epochs: InvalidationEpochs
  /** Where the bus's failures are counted and emitted (never thrown: nobody waits on them). */
  errors: ErrorReporter
  deleteMatchingInL1: (pattern: string) => Promise<number>
  /** Ask the bus for Redis client-side tracking of the cache's prefix. */
  tracking: boolean
  /**
   * Tags invalidated by another instance, including the dependency tags of keys it wrote or deleted;
   * `indexed` is false when the sender could not record them in the tag index.
   */
  onTags: (tags: string[], at: number, lazy: boolean, indexed: boolean) => void
  /** The subscription is up: whatever was heard before it may have missed messages. */
  onSubscribed: () => void
  /** The bus may have lost messages. */
  onLoss: () => void
}

/**
 * Keeps the L1 copies of every instance honest: each write, delete, clear and pattern delete that
 * reaches L2 is announced on the bus, and every other instance drops the L1 copies it concerns. When
 * the bus says messages may have been lost, all L1 copies under the cache's prefix are dropped:
 * a few extra L2 reads are cheap, a silent stale copy is not.
 *
 * It also wakes callers waiting for another process to write a key (distributed single flight).
 */
export class L1Sync {
  private readonly waiters = new Map<string, Set<() => void>>()
  private unsubscribe: (() => Promise<void>) | undefined
  private stopTracking: (() => Promise<void>) | undefined
  private stopLossListener: (() => void) | undefined
  private retryTimer: NodeJS.Timeout | undefined
  private stopped = false

  constructor(private readonly options: L1SyncOptions) {}

  /**
   * Subscribes, retrying in the background until it works or the cache closes: a cache started
   * while Redis is down must still hear invalidations once Redis is back. Until then every L1 copy
   * it makes may miss one, so the L1 is cleared each time the subscription comes up late.
   * Resolves after the first attempt, successful or not; failures are reported.
   */
  start(): Promise<void> {
    const { bus } = this.options
    this.stopLossListener = bus.onLoss?.(() => this.dropAll())
    return this.subscribe(0)
  }

  private async subscribe(attempt: number): Promise<void> {
    if (this.stopped) return
    try {
      this.unsubscribe ??= await this.options.bus.subscribe<L1Message>(this.options.channel, (message) =>
        this.receive(message),
      )
      if (this.options.tracking && this.options.bus.trackKeys) {
        this.stopTracking ??= await this.options.bus.trackKeys(this.options.root, (keys) =>
          this.dropTracked(keys),
        )
      }
      if (attempt > 0) this.dropAll()
      else this.options.onSubscribed()
    } catch (error) {
      this.report(
        new BusFailureError('[cachekit] could not subscribe to the bus; retrying', { cause: error }),
      )
      const delay = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** attempt)
      this.retryTimer = setTimeout(() => void this.subscribe(attempt + 1), delay)
      this.retryTimer.unref()
    }
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.retryTimer)
    this.stopLossListener?.()
    await this.stopTracking?.().catch(() => undefined)
    await this.unsubscribe?.().catch(() => undefined)
    for (const wake of [...this.waiters.values()].flatMap((set) => [...set])) wake()
  }

  /** Announces a change; failures are reported, never thrown at the caller. */
  async publish(message: L1Message): Promise<void> {
    try {
      await this.options.bus.publish(this.options.channel, message)
    } catch (error) {
      this.report(new BusFailureError('[cachekit] could not announce a change on the bus', { cause: error }))
    }
  }

  /** Resolves when another instance announces a write of `storeKey`, or after `ms`. */
  waitForWrite(storeKey: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let set = this.waiters.get(storeKey)
      if (!set) {
        set = new Set()
        this.waiters.set(storeKey, set)
      }
      const wake = () => {
        clearTimeout(timer)
        set.delete(wake)
        if (set.size === 0) this.waiters.delete(storeKey)
        resolve()
      }
      const timer = setTimeout(wake, ms)
      set.add(wake)
    })
  }

  private receive(message: BusMessage<L1Message>): void {
    const payload = message.payload
    const { l1, epochs } = this.options
    switch (payload?.op) {
      case 'write':
      case 'delete':
        if (!Array.isArray(payload.keys)) break
        epochs.markKeys(payload.keys)
        void l1?.delete(payload.keys).catch(() => undefined)
        if (typeof payload.at === 'number') {
          this.options.onTags(payload.keys.map(dependencyTag), payload.at, false, payload.unindexed !== true)
        }
        if (payload.op === 'write') for (const key of payload.keys) this.wake(key)
        return
      case 'tags':
        if (!Array.isArray(payload.tags) || typeof payload.at !== 'number') break
        this.options.onTags(payload.tags, payload.at, payload.lazy === true, payload.unindexed !== true)
        return
      case 'clear':
        epochs.markAll()
        void l1?.clear(String(payload.prefix)).catch(() => undefined)
        return
      case 'match':
        epochs.markAll()
        void this.options.deleteMatchingInL1(String(payload.pattern)).catch(() => undefined)
        return
    }
    this.report(new BusFailureError(`[cachekit] ignored a malformed message on ${message.channel}`))
  }

  /** Keys written in Redis by some client (ours excluded by the tracking itself). */
  private dropTracked(keys: string[] | null): void {
    if (keys === null) {
      this.dropAll()
      return
    }
    this.options.epochs.markKeys(keys)
    void this.options.l1?.delete(keys).catch(() => undefined)
  }

  private dropAll(): void {
    this.options.onLoss()
    this.options.epochs.markAll()
    void this.options.l1?.clear(this.options.root).catch(() => undefined)
  }

  private wake(storeKey: string): void {
    const set = this.waiters.get(storeKey)
    if (set) for (const wake of [...set]) wake()
  }

  private report(error: CacheError): void {
    this.options.errors.inBackground('bus', error)
  }
}
