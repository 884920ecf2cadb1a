import type { Codec } from '../codec.js'
import { type CacheEntry, storeTtlMs } from '../entry.js'
import { decodeEntry, decodeEntryHeader, type EntryHeader, encodeEntry } from '../entry_frame.js'
import { CacheError, CodecDecodeError, StoreFailureError } from '../errors.js'
import { escapeGlob } from '../glob.js'
import type { DistributedLock, Store, StoreWrite } from '../store.js'
import { CircuitBreaker } from '../util/circuit_breaker.js'
import { inBatches } from '../util/in_batches.js'
import { DeadlineTracker, withTimeout } from '../util/with_timeout.js'
import type { CacheEvents, CacheOperation, CacheTier } from './cache_events.js'
import { writeClock } from './clock.js'
import type { ErrorReporter } from './error_reporter.js'
import type { InvalidationEpochs } from './invalidation_epochs.js'
import { RefusedKeys } from './refused_keys.js'

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
  /** Where failures are counted, emitted and (with `throwErrors`) thrown. */
  errors: ErrorReporter
  events: CacheEvents
  /**
   * The cache's marks of changed keys: a write that failed on L2 does not copy its value into the
   * fallback when a later write or delete of the key started meanwhile (it would undo that one).
   */
  epochs: InvalidationEpochs
}

/**
 * What became of a write: the keys the store refused (nothing of them is cached any more: their old
 * copies are deleted or hidden, and the caller drops its L1 copies), and the error the caller throws
 * when the cache was created with `throwErrors` (already counted and emitted).
 */
export interface WriteOutcome {
  refused: readonly string[]
  error: CacheError | undefined
}

const WRITTEN: WriteOutcome = { refused: [], error: undefined }

const DELETE_BATCH = 500

/**
 * The remote tier (L2) behind a circuit breaker, with the fallback store standing in while it is
 * open. Every failure is counted and emitted, and thrown only when `throwErrors` is set.
 *
 * While L2 is skipped, writes and deletes cannot reach it, so the keys they touched are remembered;
 * on recovery they are deleted from L2 before the breaker closes. Deleting rather than writing back
 * is deliberate: another process may have written a newer value meanwhile, and a miss is always safe
 * where an old value is not.
 *
 * A refusal (`E_STORE_REFUSED`: the server answered and said no, e.g. out of memory or read-only) is
 * not a failure: it never counts toward opening the breaker, so reads keep going to the store, which
 * still holds good data. A refused read is a miss. A refused write is not cached: its old copy is
 * deleted (Redis allows DEL under `noeviction`) and, until that is done or when it is refused too (a
 * read-only replica), hidden from this process's reads (see `RefusedKeys`).
 */
export class RemoteTier {
  readonly codec: Codec
  private readonly breaker: CircuitBreaker
  private readonly deadlines: DeadlineTracker
  private readonly outageKeys = new Set<string>()
  private readonly outagePrefixes = new Set<string>()
  private outageOverflowed = false
  private readonly refused: RefusedKeys

  constructor(private readonly options: RemoteTierOptions) {
    this.codec = options.codec
    this.refused = new RefusedKeys(options.maxOutageKeys)
    this.deadlines = new DeadlineTracker(options.timeoutMs, this.explain)
    this.breaker = new CircuitBreaker({
      failureThreshold: options.failureThreshold,
      probeIntervalMs: options.probeIntervalMs,
      // A refusal is an answer: the server is back, whatever it thinks of the probe key.
      probe: () =>
        withTimeout(options.store.get(options.probeKey), options.timeoutMs, 'probe', this.explain).catch(
          (error: unknown) => {
            if (!isRefusal(error)) throw error
          },
        ),
      onOpen: (error) =>
        options.events.emit('fallback:open', {
          error: CacheError.isInstance(error)
            ? error
            : new StoreFailureError(options.store.name, 'get', { cause: error }),
        }),
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

  /** Store keys matching a store-level glob: L2's SCAN (every master), or the fallback's while it serves. */
  scan(pattern: string): AsyncIterable<string> {
    if (this.breaker.isOpen && this.options.fallback) return this.options.fallback.scan(pattern)
    return this.options.store.scan(pattern)
  }

  get usingFallback(): boolean {
    return this.breaker.isOpen
  }

  /** How long one call may take, ms (`<= 0`: no limit). */
  get timeoutMs(): number {
    return this.options.timeoutMs
  }

  /** Frames and encodes an entry for `key`; throws the codec's typed error for values it refuses. */
  encode(key: string, entry: CacheEntry): Uint8Array {
    return encodeEntry(entry, this.codec, key)
  }

  get(key: string): Promise<RemoteHit | undefined> {
    if (this.breaker.isOpen) return this.fallbackGet(key)
    let pending: Promise<Uint8Array | undefined>
    try {
      pending = this.options.store.get(key)
    } catch (error) {
      return Promise.resolve(this.getFailed(error, key))
    }
    // Not an async function: the deadline, the decode and the answer are one promise (see `settle`).
    return this.deadlines.settle(pending, 'get', key, this.onSuccess, this.hitOf, this.getFailed)
  }

  private readonly hitOf = (
    bytes: Uint8Array | undefined,
    key: string | undefined,
  ): RemoteHit | undefined => {
    if (bytes === undefined) return undefined
    const entry = this.decode(bytes, key!)
    if (entry === undefined || this.hidden(key!, entry.createdAt)) return undefined
    return { entry, tier: 'l2' }
  }

  /** A refused read is a miss; only a failure lets the fallback stand in. */
  private readonly getFailed = (
    error: unknown,
    key: string | undefined,
  ): RemoteHit | undefined | Promise<RemoteHit | undefined> => {
    if (this.fail('get', error, key).code === 'E_STORE_REFUSED') return undefined
    return this.fallbackGet(key!)
  }

  async getMany(keys: readonly string[]): Promise<Array<RemoteHit | undefined>> {
    if (this.breaker.isOpen) return Promise.all(keys.map((key) => this.fallbackGet(key)))
    let values: Array<Uint8Array | undefined>
    try {
      values = await this.call('getMany', undefined, this.options.store.getMany(keys))
    } catch (error) {
      if (this.fail('getMany', error).code === 'E_STORE_REFUSED') return keys.map(() => undefined)
      return Promise.all(keys.map((key) => this.fallbackGet(key)))
    }
    return values.map((bytes, i) => {
      if (bytes === undefined) return undefined
      const entry = this.decode(bytes, keys[i]!)
      if (entry === undefined || this.hidden(keys[i]!, entry.createdAt)) return undefined
      return { entry, tier: 'l2' as const }
    })
  }

  /**
   * Writes one entry. The store call is made before this returns its promise, so a later call from
   * this process for the same key reaches the store after it (one Redis connection runs commands in
   * order). Never rejects: failures and refusals are reported and described by the outcome.
   * `since` is the epoch of the write's own mark (see `epochs`).
   */
  async set(key: string, entry: CacheEntry, bytes: Uint8Array, since: number): Promise<WriteOutcome> {
    const ttlMs = storeTtlMs(entry)
    let error: CacheError | undefined
    if (!this.breaker.isOpen) {
      try {
        await this.call('set', key, this.options.store.set(key, bytes, ttlMs))
        if (this.refused.active) this.refused.forget([key])
        return WRITTEN
      } catch (caught) {
        if (isWriteRefusal(caught)) return this.refuseWrite('set', [key], caught)
        error = this.fail('set', caught, key, false)
      }
    }
    this.rememberOutageKeys([key])
    if (!this.options.epochs.changedSince(key, since)) {
      await this.options.fallback?.set(key, entry, ttlMs).catch(() => undefined)
    }
    return { refused: [], error }
  }

  /** `set` of several entries, in one store call. */
  async setMany(
    writes: ReadonlyArray<{ key: string; entry: CacheEntry; bytes: Uint8Array }>,
    since: number,
  ): Promise<WriteOutcome> {
    let error: CacheError | undefined
    if (!this.breaker.isOpen) {
      const storeWrites: StoreWrite<Uint8Array>[] = writes.map(({ key, entry, bytes }) => ({
        key,
        value: bytes,
        ttlMs: storeTtlMs(entry),
      }))
      try {
        await this.call('setMany', undefined, this.options.store.setMany(storeWrites))
        if (this.refused.active) this.refused.forget(keysOf(writes))
        return WRITTEN
      } catch (caught) {
        // Some writes of the batch may have landed: all are treated as refused, which at worst turns
        // them into misses.
        if (isWriteRefusal(caught)) return this.refuseWrite('setMany', keysOf(writes), caught)
        error = this.fail('setMany', caught, undefined, false)
      }
    }
    this.rememberOutageKeys(keysOf(writes))
    const fallbackWrites = writes
      .filter(({ key }) => !this.options.epochs.changedSince(key, since))
      .map(({ key, entry }) => ({ key, value: entry, ttlMs: storeTtlMs(entry) }))
    if (fallbackWrites.length > 0) await this.options.fallback?.setMany(fallbackWrites).catch(() => undefined)
    return { refused: [], error }
  }

  /** Deletes keys; resolves with how many existed in the tier that answered. */
  async delete(keys: readonly string[]): Promise<number> {
    if (!this.breaker.isOpen) {
      const key = keys.length === 1 ? keys[0] : undefined
      try {
        const count = await this.call('delete', key, this.options.store.delete(keys))
        if (this.refused.active) this.refused.forget(keys)
        return count
      } catch (error) {
        if (isRefusal(error)) {
          // The old copies stay in the store (a read-only replica): this process reads them as gone.
          this.refused.markKeys(keys, writeClock())
          this.fail('delete', error, key)
          return 0
        }
        this.fail('delete', error, key)
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
        if (isRefusal(error)) {
          this.refused.markPattern(`${escapeGlob(prefix)}*`, writeClock())
          this.fail('clear', error)
          return 0
        }
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
      if (store === this.options.store && isRefusal(error)) this.refused.markPattern(pattern, writeClock())
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
        const batch = keys.slice(i, i + DELETE_BATCH)
        await withTimeout(store.delete(batch), this.options.timeoutMs, 'recover', this.explain).catch(
          // The store is back but keeps the old copies (read-only): hidden here instead of deleted.
          (error: unknown) => this.hideOnRefusal(error, () => this.refused.markKeys(batch, writeClock())),
        )
      }
      for (const prefix of prefixes) {
        await store
          .clear(prefix)
          .catch((error: unknown) =>
            this.hideOnRefusal(error, () => this.refused.markPattern(`${escapeGlob(prefix)}*`, writeClock())),
          )
      }
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
   * The store refused a write (out of memory, read-only, a value too large): the value is not cached,
   * and older copies must not be served as if the write had happened. They are hidden from this
   * process's reads first, then deleted; once the delete succeeded nothing is left to hide. A delete
   * that is refused too (a read-only replica) leaves them hidden, until a later write or delete of the
   * key succeeds or a newer entry appears. A refusal says nothing about the tier's health.
   */
  private async refuseWrite(
    operation: CacheOperation,
    keys: readonly string[],
    error: CacheError,
  ): Promise<WriteOutcome> {
    const key = keys.length === 1 ? keys[0] : undefined
    this.refused.markKeys(keys, writeClock())
    try {
      await this.call('delete', key, this.options.store.delete(keys))
      this.refused.forget(keys)
    } catch (deleteError) {
      // Refused too: reported below with the write. A failure is a failure of its own.
      if (!isRefusal(deleteError)) this.fail('delete', deleteError, key, false)
    }
    return { refused: keys, error: this.fail(operation, error, key, false) }
  }

  /**
   * A remote-tier failure counts toward opening the breaker, a refusal (the server answered) does
   * not; both are reported. Returns the typed error; throws it when `mayThrow` and `throwErrors`.
   */
  private fail(operation: CacheOperation, error: unknown, key?: string, mayThrow = true): CacheError {
    const typed = CacheError.isInstance(error)
      ? error
      : new StoreFailureError(this.options.store.name, operation, { key, cause: error })
    if (typed.code !== 'E_STORE_REFUSED' && typed.code !== 'E_VALUE_TOO_LARGE')
      this.breaker.recordFailure(error)
    this.report(operation, typed, key, mayThrow)
    return typed
  }

  /** During recovery: a refusal runs `hide` (and is reported); anything else is thrown to keep the breaker open. */
  private hideOnRefusal(error: unknown, hide: () => void): void {
    if (!isRefusal(error)) throw error
    hide()
    this.fail('recover', error, undefined, false)
  }

  private hidden(key: string, createdAt: number): boolean {
    return this.refused.active && this.refused.hides(key, createdAt)
  }

  /** The store's account of its connection, for timeout errors. */
  private readonly explain = (): Error | undefined => this.options.store.connectionError?.()

  private report(operation: CacheOperation, error: CacheError, key?: string, mayThrow = true): void {
    if (mayThrow) this.options.errors.report(operation, error, key)
    else this.options.errors.inBackground(operation, error, key)
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

/** The server answered and declined (`E_STORE_REFUSED`). */
function isRefusal(error: unknown): error is CacheError {
  return CacheError.hasCode(error, 'E_STORE_REFUSED')
}

/** A write the store will not take: declined by the server, or refused as too large before sending. */
function isWriteRefusal(error: unknown): error is CacheError {
  return isRefusal(error) || CacheError.hasCode(error, 'E_VALUE_TOO_LARGE')
}

function keysOf(writes: ReadonlyArray<{ key: string }>): string[] {
  return writes.map((write) => write.key)
}
