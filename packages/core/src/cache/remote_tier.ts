import type { Codec } from '../codec.js'
import { type CacheEntry, storeTtlMs } from '../entry.js'
import { decodeEntry, decodeEntryHeader, type EntryHeader, encodeEntry } from '../entry_frame.js'
import { CacheError, CodecDecodeError, StoreFailureError } from '../errors.js'
import type { DistributedLock, Store, StoreWrite } from '../store.js'
import type { CacheEvents, CacheOperation, CacheTier } from './cache_events.js'
import type { StatsCounters } from './cache_stats.js'
import { CircuitBreaker } from './circuit_breaker.js'
import { inBatches } from './in_batches.js'
import { DeadlineTracker, withTimeout } from './with_timeout.js'

/** An entry read from the remote tier, or from the fallback while the remote tier is skipped. */
export interface RemoteHit {
  entry: CacheEntry
  tier: Extract<CacheTier, 'l2' | 'fallback'>
}

export interface RemoteTierOptions {
  store: Store<Uint8Array>
  codec: Codec
  fallback: Store<CacheEntry> | undefined
  timeoutMs: number
  failureThreshold: number
  probeIntervalMs: number
  probeKey: string
  /** How many keys written during an outage are remembered, to be dropped from L2 on recovery. */
  maxOutageKeys: number
  throwErrors: boolean
  events: CacheEvents
  stats: StatsCounters
}

const DELETE_BATCH = 500

/**
 * The remote tier (L2) behind a circuit breaker, with the fallback store standing in while it is
 * open. Every failure is counted and emitted, and thrown only when `throwErrors` is set.
 *
 * While L2 is skipped, writes and deletes cannot reach it, so the keys they touched are remembered;
 * on recovery they are deleted from L2 before the breaker closes. Deleting rather than writing back
 * is deliberate: another process may have written a newer value meanwhile, and a miss is always safe
 * where an old value is not.
 */
export class RemoteTier {
  readonly codec: Codec
  private readonly breaker: CircuitBreaker
  private readonly deadlines: DeadlineTracker
  private readonly outageKeys = new Set<string>()
  private readonly outagePrefixes = new Set<string>()
  private outageOverflowed = false

  constructor(private readonly options: RemoteTierOptions) {
    this.codec = options.codec
    this.deadlines = new DeadlineTracker(options.timeoutMs)
    this.breaker = new CircuitBreaker({
      failureThreshold: options.failureThreshold,
      probeIntervalMs: options.probeIntervalMs,
      probe: () => withTimeout(options.store.get(options.probeKey), options.timeoutMs, 'probe'),
      onOpen: (error) => options.events.emit('fallback:open', { error }),
      onRecover: () => this.replayOutage(),
      isSettled: () => this.outageKeys.size === 0 && this.outagePrefixes.size === 0,
      onClose: (downtimeMs) => {
        void options.fallback?.clear().catch(() => undefined)
        options.events.emit('fallback:close', { downtimeMs })
      },
    })
  }

  /** The L2 store's distributed lock, if it has one. */
  get lock(): DistributedLock | undefined {
    return this.options.store.lock
  }

  get usingFallback(): boolean {
    return this.breaker.isOpen
  }

  /** Frames and encodes an entry for `key`; throws the codec's typed error for values it refuses. */
  encode(key: string, entry: CacheEntry): Uint8Array {
    return encodeEntry(entry, this.codec, key)
  }

  async get(key: string): Promise<RemoteHit | undefined> {
    if (this.breaker.isOpen) return this.fallbackGet(key)
    let bytes: Uint8Array | undefined
    try {
      bytes = await this.call('get', key, this.options.store.get(key))
    } catch (error) {
      this.fail('get', error, key)
      return this.fallbackGet(key)
    }
    if (bytes === undefined) return undefined
    const entry = this.decode(bytes, key)
    return entry && { entry, tier: 'l2' }
  }

  async getMany(keys: readonly string[]): Promise<Array<RemoteHit | undefined>> {
    if (this.breaker.isOpen) return Promise.all(keys.map((key) => this.fallbackGet(key)))
    let values: Array<Uint8Array | undefined>
    try {
      values = await this.call('getMany', undefined, this.options.store.getMany(keys))
    } catch (error) {
      this.fail('getMany', error)
      return Promise.all(keys.map((key) => this.fallbackGet(key)))
    }
    return values.map((bytes, i) => {
      if (bytes === undefined) return undefined
      const entry = this.decode(bytes, keys[i]!)
      return entry && { entry, tier: 'l2' as const }
    })
  }

  async set(key: string, entry: CacheEntry, bytes: Uint8Array): Promise<void> {
    const ttlMs = storeTtlMs(entry)
    if (!this.breaker.isOpen) {
      try {
        await this.call('set', key, this.options.store.set(key, bytes, ttlMs))
        return
      } catch (error) {
        if (CacheError.hasCode(error, 'E_VALUE_TOO_LARGE')) return this.refuse([key], error)
        this.fail('set', error, key)
      }
    }
    this.rememberOutageKeys([key])
    await this.options.fallback?.set(key, entry, ttlMs).catch(() => undefined)
  }

  async setMany(writes: ReadonlyArray<{ key: string; entry: CacheEntry; bytes: Uint8Array }>): Promise<void> {
    if (!this.breaker.isOpen) {
      const storeWrites: StoreWrite<Uint8Array>[] = writes.map(({ key, entry, bytes }) => ({
        key,
        value: bytes,
        ttlMs: storeTtlMs(entry),
      }))
      try {
        await this.call('setMany', undefined, this.options.store.setMany(storeWrites))
        return
      } catch (error) {
        if (CacheError.hasCode(error, 'E_VALUE_TOO_LARGE')) return this.refuse(keysOf(writes), error)
        this.fail('setMany', error)
      }
    }
    this.rememberOutageKeys(keysOf(writes))
    const fallbackWrites = writes.map(({ key, entry }) => ({ key, value: entry, ttlMs: storeTtlMs(entry) }))
    await this.options.fallback?.setMany(fallbackWrites).catch(() => undefined)
  }

  /** Deletes keys; resolves with how many existed in the tier that answered. */
  async delete(keys: readonly string[]): Promise<number> {
    if (!this.breaker.isOpen) {
      try {
        return await this.call(
          'delete',
          keys.length === 1 ? keys[0] : undefined,
          this.options.store.delete(keys),
        )
      } catch (error) {
        this.fail('delete', error, keys.length === 1 ? keys[0] : undefined)
      }
    }
    this.rememberOutageKeys(keys)
    return (await this.options.fallback?.delete(keys).catch(() => 0)) ?? 0
  }

  async clear(prefix: string): Promise<number> {
    if (!this.breaker.isOpen) {
      try {
        // A clear walks the whole keyspace in batches, so it gets no per-call timeout.
        return await this.options.store.clear(prefix).then((count) => {
          this.breaker.recordSuccess()
          return count
        })
      } catch (error) {
        this.fail('clear', error)
      }
    }
    this.outagePrefixes.add(prefix)
    return (await this.options.fallback?.clear(prefix).catch(() => 0)) ?? 0
  }

  /**
   * Deletes every key matching a store-level glob, in batches; resolves with the count. `onDeleted`
   * hears each batch once it is deleted.
   */
  async deleteMatching(pattern: string, onDeleted?: (keys: string[]) => Promise<void>): Promise<number> {
    const store = this.breaker.isOpen ? this.options.fallback : this.options.store
    if (!store) return 0
    let deleted = 0
    try {
      for await (const batch of inBatches(store.scan(pattern), DELETE_BATCH)) {
        deleted += await store.delete(batch)
        await onDeleted?.(batch)
      }
    } catch (error) {
      this.fail('deleteMatching', error)
    }
    return deleted
  }

  /**
   * Walks the keys matching `pattern` in batches and deletes those `isDead` picks, judging them by
   * their frames only. Skipped while the breaker is open; stops at the first failure (reported).
   */
  async sweep(pattern: string, plan: SweepPlan): Promise<{ removed: number; scanned: number }> {
    const { store } = this.options
    let removed = 0
    let scanned = 0
    if (this.breaker.isOpen) return { removed, scanned }
    try {
      for await (const batch of inBatches(store.scan(pattern), plan.batchSize)) {
        if (plan.stopped() || this.breaker.isOpen) break
        const values = await this.call('sweep', undefined, store.getMany(batch))
        const headers = values.map((bytes) => (bytes === undefined ? undefined : headerOrUndefined(bytes)))
        const verdicts = await plan.isDead(headers)
        const dead = batch.filter((_, i) => verdicts[i])
        scanned += batch.length
        if (dead.length > 0) removed += await this.call('sweep', undefined, store.delete(dead))
        await plan.pause()
      }
    } catch (error) {
      this.fail('sweep', error)
    }
    return { removed, scanned }
  }

  async close(): Promise<void> {
    this.breaker.stop()
    await Promise.all([this.options.store.close(), this.options.fallback?.close()])
  }

  /** A call to the tier within its timeout; a success resets the breaker's failure count. */
  private call<T>(operation: CacheOperation, key: string | undefined, pending: Promise<T>): Promise<T> {
    return this.deadlines.track(pending, operation, key, this.onSuccess)
  }

  private readonly onSuccess = () => this.breaker.recordSuccess()

  private decode(bytes: Uint8Array, key: string): CacheEntry | undefined {
    try {
      return decodeEntry(bytes, this.codec, key)
    } catch (error) {
      // Not deleted: a newer version of cachekit may have written a frame this one cannot read,
      // and deleting it would break that instance during a rolling deploy. It reads as a miss.
      return this.reportDecodeFailure(error, key)
    }
  }

  private reportDecodeFailure(error: unknown, key: string): undefined {
    const typed =
      error instanceof CodecDecodeError
        ? error
        : new CodecDecodeError(`[cachekit/core] bytes under "${key}" did not decode`, { key, cause: error })
    this.report('get', typed, key)
    return undefined
  }

  private async fallbackGet(key: string): Promise<RemoteHit | undefined> {
    const entry = await this.options.fallback?.get(key).catch(() => undefined)
    return entry && { entry, tier: 'fallback' }
  }

  private rememberOutageKeys(keys: readonly string[]): void {
    for (const key of keys) {
      if (this.outageKeys.size >= this.options.maxOutageKeys) {
        this.outageOverflowed = true
        return
      }
      this.outageKeys.add(key)
    }
  }

  /** Runs before the breaker closes; throwing keeps it open and the probe tries again later. */
  private async replayOutage(): Promise<void> {
    const { store } = this.options
    while (this.outageKeys.size > 0 || this.outagePrefixes.size > 0) {
      const keys = [...this.outageKeys]
      const prefixes = [...this.outagePrefixes]
      for (let i = 0; i < keys.length; i += DELETE_BATCH) {
        await withTimeout(store.delete(keys.slice(i, i + DELETE_BATCH)), this.options.timeoutMs, 'recover')
      }
      for (const prefix of prefixes) await store.clear(prefix)
      for (const key of keys) this.outageKeys.delete(key)
      for (const prefix of prefixes) this.outagePrefixes.delete(prefix)
    }
    if (this.outageOverflowed) {
      this.outageOverflowed = false
      const error = new StoreFailureError(this.options.store.name, 'recover', {
        cause: new Error(
          `more than ${this.options.maxOutageKeys} keys were written during the outage; values written before it may be served until they expire`,
        ),
      })
      // Background work: nobody to throw at, even with `throwErrors`, and a throw here would keep
      // the breaker open for good.
      this.report('recover', error, undefined, false)
    }
  }

  /**
   * The store refused a value (too large): older copies must not be served as if the write had
   * happened, so they are deleted. A refusal says nothing about the tier's health.
   */
  private async refuse(keys: readonly string[], error: CacheError): Promise<void> {
    await this.options.store.delete(keys).catch(() => undefined)
    this.report(keys.length === 1 ? 'set' : 'setMany', error, keys.length === 1 ? keys[0] : undefined)
  }

  /** A remote-tier failure: counts toward opening the breaker, then is reported. */
  private fail(operation: CacheOperation, error: unknown, key?: string): void {
    this.breaker.recordFailure(error)
    const typed = CacheError.isInstance(error)
      ? error
      : new StoreFailureError(this.options.store.name, operation, { key, cause: error })
    this.report(operation, typed, key)
  }

  private report(operation: CacheOperation, error: CacheError, key?: string, mayThrow = true): void {
    this.options.stats.errors++
    this.options.events.emit('error', key === undefined ? { error, operation } : { error, operation, key })
    if (mayThrow && this.options.throwErrors) throw error
  }
}

/** How `sweep` walks and judges keys. */
export interface SweepPlan {
  batchSize: number
  /** Per key of a batch, in order: true to delete it. `undefined` headers are missing or unreadable keys. */
  isDead: (headers: ReadonlyArray<EntryHeader | undefined>) => Promise<boolean[]>
  pause: () => Promise<void>
  stopped: () => boolean
}

/** An unreadable frame is not the sweeper's to delete: a newer writer may have made it. */
function headerOrUndefined(bytes: Uint8Array): EntryHeader | undefined {
  try {
    return decodeEntryHeader(bytes)
  } catch {
    return undefined
  }
}

function keysOf(writes: ReadonlyArray<{ key: string }>): string[] {
  return writes.map((write) => write.key)
}
