import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import {
  type CacheError,
  CodecEncodeError,
  InvalidOptionError,
  StoreClosedError,
  StoreFailureError,
} from '@cachekit/core'
import { WriteBehindLagError } from './errors.js'
import {
  Emitter,
  type WriteBehindEventName,
  type WriteBehindListener,
  type WriteBehindStats,
} from './events.js'
import { Flusher } from './flusher.js'
import { type ResolvedOptions, resolveOptions, type WriteBehindOptions } from './options.js'
import { ensureGroup, groupInfo, lastEntryId, measureLag } from './stream_commands.js'
import { compareVersions } from './version.js'

/** What `write` resolves with, once the write is in the stream (and the cache). */
export interface WriteReceipt {
  readonly key: string
  /** The write's version, its stream id; see `compareVersions`. */
  readonly version: string
}

/** Options of `flush`. */
export interface FlushOptions {
  /** Stops waiting (the promise rejects with the signal's reason); the entries still flush. */
  signal?: AbortSignal
}

/** A durable write-behind queue; see `writeBehind`. */
export interface WriteBehind<V> {
  /** This instance's consumer name in the group. */
  readonly consumer: string
  /** Resolves once the group exists and, when this instance consumes, reading has begun. */
  ready(): Promise<void>
  /**
   * Appends the write to the stream (XADD MAXLEN ~), then updates the cache. Resolves once Redis
   * has the entry: from then on it reaches the sink even if this process dies.
   *
   * @throws InvalidOptionError for an empty key; CodecEncodeError when `serialize` fails;
   *   WriteBehindLagError past `maxLag`; StoreFailureError when Redis fails; StoreClosedError after `close`.
   */
  write(key: string, value: V): Promise<WriteReceipt>
  /**
   * Waits until every entry in the stream when it was called (this instance's writes among them) is
   * in the sink or in the dead-letter stream. Needs a consumer running somewhere in the group.
   */
  flush(options?: FlushOptions): Promise<void>
  /** Entries not yet acknowledged by the group (undelivered plus pending), measured now. */
  lag(): Promise<number>
  /** Counters since this queue was made. */
  stats(): WriteBehindStats
  /** Listens to an event; returns the function that stops listening. */
  on<E extends WriteBehindEventName>(event: E, listener: WriteBehindListener<E>): () => void
  /**
   * Refuses new writes, flushes (when this instance consumes), stops the consumer and, with
   * `closeClient`, quits the client. Idempotent.
   */
  close(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

/**
 * A durable write-behind queue on a Redis Stream. `write` appends to the stream and updates the
 * cache at once; a consumer group flushes to the `sink` in batches, the writes of one key coalesced
 * to the last, each entry acknowledged only after the sink confirmed it. Entries that keep failing
 * go to a dead-letter stream with their error; entries left pending by a dead process are taken
 * over. Each write's version is its stream id, so a sink that keeps versions never lets an older
 * write win.
 *
 * @example
 * const queue = writeBehind({
 *   client: createRedis(process.env.REDIS_URL),
 *   stream: 'users:wb',
 *   sink: postgresSink({ client: pool, table: 'users' }),
 *   cache,
 * })
 * await queue.write('user:42', { name: 'Ada' })
 * await queue.close() // flushes
 */
export function writeBehind<V = unknown>(options: WriteBehindOptions<V>): WriteBehind<V> {
  return new WriteBehindQueue(options)
}

class WriteBehindQueue<V> implements WriteBehind<V> {
  readonly consumer: string
  private readonly options: ResolvedOptions<V>
  private readonly emitter = new Emitter()
  private readonly counters: WriteBehindStats = {
    written: 0,
    refused: 0,
    flushed: 0,
    batches: 0,
    retries: 0,
    deadLettered: 0,
    claimed: 0,
    lost: 0,
    lag: 0,
  }
  private readonly flusher: Flusher<V> | undefined
  private groupReady: Promise<true> | undefined
  private readonly inflight = new Set<Promise<unknown>>()
  /** Writes admitted since the lag was measured; counted on top of the measured lag. */
  private admittedSinceCheck = 0
  private nextLagCheck = 0
  private lagCheck: Promise<number> | undefined
  private closing: Promise<void> | undefined
  private readonly closeWaiters = new Set<() => void>()

  constructor(options: WriteBehindOptions<V>) {
    this.options = resolveOptions(options)
    this.consumer =
      this.options.consumer ?? `${hostname()}-${process.pid}-${randomBytes(4).toString('base64url')}`
    for (const [event, listener] of Object.entries(options.on ?? {})) {
      if (typeof listener !== 'function') {
        throw new InvalidOptionError(`[cachekit/patterns] \`on.${event}\` must be a function`)
      }
      this.emitter.on(event as WriteBehindEventName, listener as WriteBehindListener<WriteBehindEventName>)
    }
    const report = (error: CacheError) => this.emitter.emit('error', error)
    this.flusher = this.options.consume
      ? new Flusher(this.options, this.consumer, this.emitter, this.counters, report)
      : undefined
    this.flusher?.onAcknowledged(() => this.measureLagSoon())
  }

  async ready(): Promise<void> {
    if (this.flusher) await this.flusher.ready()
    else await this.ensureGroup().catch(() => undefined)
  }

  async write(key: string, value: V): Promise<WriteReceipt> {
    if (this.closing) throw new StoreClosedError('write-behind')
    if (typeof key !== 'string' || key === '') {
      throw new InvalidOptionError('[cachekit/patterns] a write-behind key must be a non-empty string')
    }
    const raw = this.serialize(key, value)
    const pending = this.append(key, value, raw)
    this.inflight.add(pending)
    try {
      return await pending
    } finally {
      this.inflight.delete(pending)
    }
  }

  async flush(options: FlushOptions = {}): Promise<void> {
    const { signal } = options
    signal?.throwIfAborted()
    await Promise.allSettled([...this.inflight])
    const { client, stream } = this.options
    const target = await this.redis('xrevrange', () => lastEntryId(client, stream))
    if (target === undefined) return
    for (;;) {
      if (await this.redis('xpending', () => this.settled(target))) return
      signal?.throwIfAborted()
      await this.untilAcknowledgedOrTimeout(signal)
    }
  }

  async lag(): Promise<number> {
    return this.measureLag()
  }

  stats(): WriteBehindStats {
    return { ...this.counters }
  }

  on<E extends WriteBehindEventName>(event: E, listener: WriteBehindListener<E>): () => void {
    return this.emitter.on(event, listener)
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const wake of [...this.closeWaiters]) wake()
      await Promise.allSettled([...this.inflight])
      if (this.flusher) {
        try {
          await this.flush()
        } catch (error) {
          this.emitter.emit('error', error as CacheError)
        }
        await this.flusher.stop()
      }
      const { client, closeClient } = this.options
      if (closeClient && client.status !== 'end') await client.quit().catch(() => client.disconnect())
    })()
    return this.closing
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  private serialize(key: string, value: V): string {
    let raw: unknown
    try {
      raw = this.options.serialize(value)
    } catch (error) {
      throw new CodecEncodeError(`[cachekit/patterns] the value of "${key}" could not be serialized`, {
        key,
        cause: error,
      })
    }
    if (typeof raw !== 'string') {
      throw new CodecEncodeError(
        `[cachekit/patterns] serializing the value of "${key}" gave ${typeof raw}, not a string`,
        { key },
      )
    }
    return raw
  }

  private async append(key: string, value: V, raw: string): Promise<WriteReceipt> {
    const { client, stream, maxLen, cache } = this.options
    await this.redis('xgroup', () => this.ensureGroup(), key)
    await this.admit(key)
    const version = (await this.redis(
      'xadd',
      () => client.xadd(stream, 'MAXLEN', '~', maxLen, '*', 'k', key, 'v', raw),
      key,
    )) as string
    this.counters.written++
    if (cache) {
      try {
        await cache.set(key, value)
      } catch (error) {
        // The write is durable already; a cache that failed only delays when readers see it.
        this.emitter.emit(
          'error',
          new StoreFailureError('cache', `write-behind cache update of "${key}"`, { key, cause: error }),
        )
      }
    }
    return { key, version }
  }

  /** Back-pressure: lets the write through while the lag is below `maxLag`, else waits or refuses. */
  private async admit(key: string): Promise<void> {
    const { maxLag, onLagExceeded, maxLagWaitMs, lagCheckIntervalMs } = this.options
    if (maxLag === Number.POSITIVE_INFINITY) return
    if (this.counters.lag + this.admittedSinceCheck < maxLag && Date.now() < this.nextLagCheck) {
      this.admittedSinceCheck++
      return
    }
    let lag = await this.measureLag()
    if (lag + this.admittedSinceCheck < maxLag) {
      this.admittedSinceCheck++
      return
    }
    this.emitter.emit('backpressure', { key, lag, maxLag, action: onLagExceeded })
    const giveUpAt = Date.now() + maxLagWaitMs
    while (onLagExceeded === 'wait' && Date.now() < giveUpAt) {
      await this.untilAcknowledgedOrTimeout(undefined, Math.min(lagCheckIntervalMs, giveUpAt - Date.now()))
      if (this.closing) throw new StoreClosedError('write-behind')
      lag = await this.measureLag()
      if (lag + this.admittedSinceCheck < maxLag) {
        this.admittedSinceCheck++
        return
      }
    }
    this.counters.refused++
    throw new WriteBehindLagError(key, lag, maxLag)
  }

  /** One measurement at a time, shared by every write waiting for it. */
  private measureLag(): Promise<number> {
    const { client, stream, group, maxLag, lagCheckIntervalMs } = this.options
    this.lagCheck ??= this.redis('xinfo', () => measureLag(client, stream, group, maxLag))
      .then((lag) => {
        this.counters.lag = lag
        this.admittedSinceCheck = 0
        this.nextLagCheck = Date.now() + lagCheckIntervalMs
        this.emitter.emit('lag', { lag, maxLag })
        return lag
      })
      .finally(() => {
        this.lagCheck = undefined
      })
    return this.lagCheck
  }

  /** After a flush, the lag gauge is refreshed, at most once per `lagCheckInterval`. */
  private measureLagSoon(): void {
    if (Date.now() < this.nextLagCheck || this.lagCheck) return
    this.measureLag().catch(() => undefined)
  }

  private ensureGroup(): Promise<true> {
    const { client, stream, group } = this.options
    this.groupReady ??= ensureGroup(client, stream, group).catch((error: unknown) => {
      this.groupReady = undefined
      throw error
    })
    return this.groupReady
  }

  /** True once the group has delivered `target` and nothing up to it is pending any more. */
  private async settled(target: string): Promise<boolean> {
    const { client, stream, group } = this.options
    const info = await groupInfo(client, stream, group)
    if (!info || compareVersions(info.lastDeliveredId, target) < 0) return false
    const pending = (await client.xpending(stream, group, '-', target, 1)) as unknown[]
    return pending.length === 0
  }

  /** Waits for this instance's consumer to acknowledge something, or for a poll interval. */
  private untilAcknowledgedOrTimeout(signal: AbortSignal | undefined, ms?: number): Promise<void> {
    const waitMs = ms ?? Math.min(Math.max(this.options.flushIntervalMs, 10), 250)
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        stopListening?.()
        signal?.removeEventListener('abort', done)
        this.closeWaiters.delete(done)
        resolve()
      }
      const timer = setTimeout(() => done(), waitMs)
      const stopListening = this.flusher?.onAcknowledged(done)
      signal?.addEventListener('abort', done, { once: true })
      this.closeWaiters.add(done)
    })
  }

  /** Runs a Redis step of a caller's operation; a failure becomes a typed error. */
  private async redis<R>(operation: string, step: () => Promise<R>, key?: string): Promise<R> {
    try {
      return await step()
    } catch (error) {
      throw new StoreFailureError('redis', `write-behind ${operation} on "${this.options.stream}"`, {
        key,
        cause: error,
      })
    }
  }
}
