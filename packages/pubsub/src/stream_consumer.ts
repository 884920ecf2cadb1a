import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import {
  BusFailureError,
  type CacheError,
  type Duration,
  InvalidOptionError,
  parseDuration,
} from '@cachekit/core'
import type { Cluster, Redis } from 'ioredis'
import { connectionName, isCluster } from './subscriber_connections.js'

/** One entry of a stream, as a handler receives it. */
export interface StreamEntry {
  /** The entry id, e.g. `1732233445123-0`. */
  readonly id: string
  /** The field/value pairs given to XADD. */
  readonly fields: Readonly<Record<string, string>>
  /**
   * `true` when the entry was delivered before and not acknowledged: taken over from a consumer that
   * stalled or died (XAUTOCLAIM), or left pending by this consumer's earlier run.
   */
  readonly redelivered: boolean
}

/** Handles an entry; it is acknowledged (XACK) once this returns or resolves, never when it throws. */
export type StreamHandler = (entry: StreamEntry) => void | Promise<void>

/** Options of `streamConsumer`. */
export interface StreamConsumerOptions {
  /** The client for XACK, XAUTOCLAIM and XGROUP; duplicated for the blocking reads. */
  client: Redis | Cluster
  /** The stream key. */
  stream: string
  /** The consumer group; created (with the stream, MKSTREAM) when missing. */
  group: string
  /**
   * This consumer's name in the group. Default: host name, pid and a random suffix. A stable name
   * (a pod name) lets a restarted process take back its own pending entries at once instead of
   * waiting for `claimIdle`.
   */
  consumer?: string
  handler: StreamHandler
  /** Entries read (and claimed) per round trip, 1 to 1000. Default 10. */
  batchSize?: number
  /** How long one XREADGROUP waits for new entries (`'5s'`, `250`). Default `'5s'`. */
  block?: Duration
  /**
   * Entries pending (delivered, not acknowledged) for longer than this are taken over: the consumer
   * that had them stalled, died, or its handler failed. Checked every `claimIdle / 2`. Default `'1m'`.
   */
  claimIdle?: Duration
  /** @deprecated Use `block`, which takes any duration. */
  blockMs?: number
  /** @deprecated Use `claimIdle`, which takes any duration. */
  claimIdleMs?: number
  /** Where a group created by this consumer starts: `'$'` (new entries only, the default) or `'0'` (all). */
  startId?: string
  /** `close()` also quits `client`. Default `true`, like every cachekit part handed a client. */
  closeClient?: boolean
}

/** Counters of a stream consumer. */
export interface StreamConsumerStats {
  /** Entries handled and acknowledged. */
  acknowledged: number
  /** Handler calls that threw or rejected (the entry stays pending and is retried). */
  failed: number
  /** Entries taken over with XAUTOCLAIM. */
  claimed: number
}

/** A running consumer; see `streamConsumer`. */
export interface StreamConsumer {
  /** This consumer's name in the group. */
  readonly consumer: string
  /** Resolves once the group exists and reading has begun. */
  ready(): Promise<void>
  /** Listens for failures: handlers that throw, reads and acknowledgements that fail. */
  onError(listener: (error: CacheError) => void): () => void
  stats(): StreamConsumerStats
  /** Stops reading, lets the entry being handled finish, and quits the reading connection. */
  close(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

/** Pause after a failed read before the next one, so a dead Redis is not polled in a tight loop. */
const RETRY_MS = 500

/**
 * Consumes a Redis Stream as a member of a consumer group, at least once: each entry goes to one
 * consumer of the group, is acknowledged after its handler succeeds, and is handed to a consumer
 * again when it stays unacknowledged for `claimIdle`.
 *
 * - Reads with XREADGROUP BLOCK on a connection of its own, so the blocking read never delays other
 *   commands of `client`.
 * - At start, first handles the entries still pending for this consumer name (a restart).
 * - Every `claimIdle / 2`, takes over entries pending longer than `claimIdle` in the group
 *   (XAUTOCLAIM, Redis 6.2+), a batch at a time.
 * - Entries of a batch are handled one after another, in stream order.
 *
 * @example
 * const consumer = streamConsumer({
 *   client: createRedis(process.env.REDIS_URL),
 *   stream: 'orders',
 *   group: 'billing',
 *   handler: async ({ fields }) => invoice(JSON.parse(fields.order!)),
 * })
 * await redis.xadd('orders', '*', 'order', JSON.stringify(order))
 */
export function streamConsumer(options: StreamConsumerOptions): StreamConsumer {
  return new GroupConsumer(options)
}

type RawEntry = [id: string, fields: string[] | null]

class GroupConsumer implements StreamConsumer {
  readonly consumer: string
  private readonly client: Redis | Cluster
  private readonly reader: Redis | Cluster
  private readonly stream: string
  private readonly group: string
  private readonly handler: StreamHandler
  private readonly batchSize: number
  private readonly blockMs: number
  private readonly claimIdleMs: number
  private readonly startId: string
  private readonly closeClient: boolean
  private readonly errorListeners = new Set<(error: CacheError) => void>()
  private readonly counters: StreamConsumerStats = { acknowledged: 0, failed: 0, claimed: 0 }
  private readonly started: Promise<void>
  private readonly running: Promise<void>
  private markStarted: () => void = () => undefined
  private closed = false
  private closing: Promise<void> | undefined
  private wakeUp: (() => void) | undefined

  constructor(options: StreamConsumerOptions) {
    const { client } = options
    if (!client || typeof (client as Partial<Redis>).xreadgroup !== 'function') {
      throw new InvalidOptionError('[cachekit/pubsub] `client` must be an ioredis Redis or Cluster')
    }
    for (const key of ['stream', 'group'] as const) {
      if (typeof options[key] !== 'string' || options[key] === '') {
        throw new InvalidOptionError(`[cachekit/pubsub] \`${key}\` must be a non-empty string`)
      }
    }
    if (typeof options.handler !== 'function') {
      throw new InvalidOptionError('[cachekit/pubsub] `handler` must be a function')
    }
    this.client = client
    this.stream = options.stream
    this.group = options.group
    this.handler = options.handler
    this.consumer = options.consumer ?? `${hostname()}-${process.pid}-${randomBytes(4).toString('base64url')}`
    this.batchSize = checkInteger(options.batchSize ?? 10, 'batchSize', 1, 1_000)
    const block = options.block === undefined ? (options.blockMs ?? 5_000) : parseDuration(options.block)
    const claimIdle =
      options.claimIdle === undefined ? (options.claimIdleMs ?? 60_000) : parseDuration(options.claimIdle)
    this.blockMs = checkInteger(block, 'block', 1, 24 * 3_600_000)
    this.claimIdleMs = checkInteger(claimIdle, 'claimIdle', 1, 365 * 24 * 3_600_000)
    this.startId = options.startId ?? '$'
    this.closeClient = options.closeClient ?? true
    this.reader = openReader(client, this.blockMs, connectionName('stream', this.consumer))
    this.started = new Promise((resolve) => {
      this.markStarted = resolve
    })
    this.running = this.run()
  }

  ready(): Promise<void> {
    return this.started
  }

  onError(listener: (error: CacheError) => void): () => void {
    this.errorListeners.add(listener)
    return () => this.errorListeners.delete(listener)
  }

  stats(): StreamConsumerStats {
    return { ...this.counters }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true
      this.wakeUp?.()
      // Ends the blocking read at once instead of after up to `blockMs`.
      this.reader.disconnect()
      await this.running
      this.markStarted()
      if (this.closeClient && this.client.status !== 'end')
        await this.client.quit().catch(() => this.client.disconnect())
    })()
    return this.closing
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  private async run(): Promise<void> {
    while (!this.closed && !(await this.attempt(() => this.createGroup(), 'creating the group'))) {
      await this.pause()
    }
    this.markStarted()
    // This consumer's own pending entries first (id `0`), from where the last batch ended.
    let backlogFrom: string | undefined = '0'
    let nextClaim = 0
    while (!this.closed) {
      if (Date.now() >= nextClaim) {
        await this.attempt(() => this.claimStale(), 'claiming stale entries')
        nextClaim = Date.now() + Math.max(Math.floor(this.claimIdleMs / 2), 1)
      }
      const from: string | undefined = backlogFrom
      const entries: RawEntry[] | undefined = await this.attempt(() => this.read(from), 'reading')
      if (entries === undefined) {
        await this.pause()
        continue
      }
      if (from !== undefined) backlogFrom = entries.length === 0 ? undefined : entries.at(-1)![0]
      for (const entry of entries) {
        if (this.closed) break
        await this.handle(entry, from !== undefined)
      }
    }
  }

  /** XREADGROUP: new entries (`>`) blocking, or this consumer's pending ones after `from`. */
  private async read(from: string | undefined): Promise<RawEntry[]> {
    const reply = (
      from === undefined
        ? await this.reader.xreadgroup(
            'GROUP',
            this.group,
            this.consumer,
            'COUNT',
            this.batchSize,
            'BLOCK',
            this.blockMs,
            'STREAMS',
            this.stream,
            '>',
          )
        : await this.reader.xreadgroup(
            'GROUP',
            this.group,
            this.consumer,
            'COUNT',
            this.batchSize,
            'STREAMS',
            this.stream,
            from,
          )
    ) as Array<[string, RawEntry[]]> | null
    return reply?.[0]?.[1] ?? []
  }

  /** XAUTOCLAIM until the group has no entry idle for longer than `claimIdleMs`. */
  private async claimStale(): Promise<void> {
    let start = '0-0'
    do {
      const [next, entries] = (await this.client.xautoclaim(
        this.stream,
        this.group,
        this.consumer,
        this.claimIdleMs,
        start,
        'COUNT',
        this.batchSize,
      )) as [string, RawEntry[], string[]?]
      this.counters.claimed += entries.length
      for (const entry of entries) {
        if (this.closed) return
        await this.handle(entry, true)
      }
      start = next
    } while (start !== '0-0' && !this.closed)
  }

  private async handle([id, flat]: RawEntry, redelivered: boolean): Promise<void> {
    // A pending entry deleted from the stream (XDEL, MAXLEN) comes back without fields: nothing to do
    // but to acknowledge it.
    if (flat) {
      const fields: Record<string, string> = {}
      for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!
      try {
        await this.handler({ id, fields, redelivered })
      } catch (error) {
        this.counters.failed++
        this.report(
          new BusFailureError(
            `[cachekit/pubsub] the handler failed on entry ${id} of "${this.stream}"; it stays pending and is retried after claimIdle`,
            { cause: error },
          ),
        )
        return
      }
    }
    if (await this.attempt(() => this.client.xack(this.stream, this.group, id), `acknowledging ${id}`)) {
      if (flat) this.counters.acknowledged++
    }
  }

  private async createGroup(): Promise<true> {
    try {
      await this.client.xgroup('CREATE', this.stream, this.group, this.startId, 'MKSTREAM')
    } catch (error) {
      if (!(error instanceof Error && error.message.startsWith('BUSYGROUP'))) throw error
    }
    return true
  }

  /** Runs a Redis step; a failure is reported (and a deleted group recreated), never thrown. */
  private async attempt<R>(step: () => Promise<R>, what: string): Promise<R | undefined> {
    try {
      return await step()
    } catch (error) {
      if (this.closed) return undefined
      if (error instanceof Error && error.message.startsWith('NOGROUP')) {
        // The stream or the group was deleted under us: start again from an empty group.
        await this.createGroup().catch(() => undefined)
      }
      this.report(
        new BusFailureError(`[cachekit/pubsub] ${what} on stream "${this.stream}" failed`, { cause: error }),
      )
      return undefined
    }
  }

  private pause(): Promise<void> {
    if (this.closed) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(done, RETRY_MS)
      function done() {
        clearTimeout(timer)
        resolve()
      }
      this.wakeUp = done
    })
  }

  private report(error: CacheError): void {
    for (const listener of [...this.errorListeners]) {
      try {
        listener(error)
      } catch {
        // A listener that throws must not stop the consumer.
      }
    }
  }
}

/**
 * The connection for blocking reads. Like a subscriber, it waits for Redis rather than failing fast
 * (offline queue on); the client's `commandTimeout` would cut every BLOCK short, so it is replaced by
 * ioredis' `blockingTimeout`, which allows BLOCK plus a grace period: a read on a half-open
 * connection still ends.
 */
function openReader(client: Redis | Cluster, blockMs: number, connectionName: string): Redis | Cluster {
  const overrides = {
    enableOfflineQueue: true,
    maxRetriesPerRequest: null,
    commandTimeout: undefined,
    blockingTimeout: blockMs,
    blockingTimeoutGrace: 1_000,
    connectionName,
  }
  const reader = isCluster(client)
    ? client.duplicate([], {
        enableOfflineQueue: true,
        lazyConnect: false,
        redisOptions: { ...client.options.redisOptions, ...overrides },
      })
    : client.duplicate({ ...overrides, lazyConnect: false })
  reader.on('error', () => undefined)
  return reader
}

function checkInteger(value: number, name: string, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(`[cachekit/pubsub] \`${name}\` must be an integer from ${min} to ${max}`)
  }
  return value
}
