import { BusFailureError, type CacheError } from '@cachekit/core'
import type { Cluster, Redis } from 'ioredis'
import { backoffDelay } from './backoff.js'
import { groupByKey, type KeyGroup, type PendingEntry } from './coalesce.js'
import type { Emitter, WriteBehindStats } from './events.js'
import type { ResolvedOptions } from './options.js'
import { ensureGroup, groupInfo, openReader, type RawEntry } from './stream_commands.js'

/** Pause after a failed Redis step before the next one, so a dead Redis is not polled in a loop. */
const RETRY_MS = 500
/** The longest an idle XREADGROUP blocks; the loop also wakes for claims and for `stop()`. */
const IDLE_BLOCK_MS = 2_000
/** How often acknowledged entries are trimmed from the stream. */
const TRIM_EVERY_MS = 1_000

/**
 * The consumer side of a write-behind queue: reads the stream as a member of the group, batches,
 * coalesces by key, writes to the sink with retries, acknowledges what the sink confirmed, moves
 * what keeps failing to the dead-letter stream, and takes over entries other consumers left pending.
 *
 * One loop does everything in turn, so a batch being retried holds back the next one: keys stay in
 * order and a failing sink slows the consumer down instead of piling up calls.
 */
export class Flusher<V> {
  private readonly client: Redis | Cluster
  private readonly reader: Redis | Cluster
  private buffer: PendingEntry<V>[] = []
  private readonly buffered = new Set<string>()
  /** Earlier sink attempts of redelivered entries, from their delivery counts. */
  private readonly priorAttempts = new Map<string, number>()
  private deadline = 0
  private nextTrim = 0
  private stopped = false
  private readonly running: Promise<void>
  private markStarted: () => void = () => undefined
  private readonly started: Promise<void>
  private wakeUp: (() => void) | undefined
  private readonly ackListeners = new Set<() => void>()

  constructor(
    private readonly options: ResolvedOptions<V>,
    readonly consumer: string,
    private readonly emitter: Emitter,
    private readonly counters: WriteBehindStats,
    private readonly report: (error: CacheError) => void,
  ) {
    this.client = options.client
    this.reader = openReader(options.client, IDLE_BLOCK_MS, consumer)
    this.started = new Promise((resolve) => {
      this.markStarted = resolve
    })
    this.running = this.run().catch((error: unknown) => {
      // Every Redis step and sink call is guarded; this is a bug, and it must not go unnoticed.
      this.report(
        new BusFailureError(`[cachekit/patterns] the write-behind consumer of "${options.stream}" stopped`, {
          cause: error,
        }),
      )
    })
  }

  /** Resolves once the group exists and reading has begun. */
  ready(): Promise<void> {
    return this.started
  }

  /** Calls `listener` after every acknowledgement (sink or dead letter), until the returned function is called. */
  onAcknowledged(listener: () => void): () => void {
    this.ackListeners.add(listener)
    return () => this.ackListeners.delete(listener)
  }

  /** Stops reading; a batch in the sink finishes, entries not acknowledged stay pending for a claim. */
  async stop(): Promise<void> {
    this.stopped = true
    this.wakeUp?.()
    this.reader.disconnect()
    await this.running
    this.markStarted()
  }

  private async run(): Promise<void> {
    const { stream, group, batchSize, claimIdleMs } = this.options
    while (
      !this.stopped &&
      !(await this.attempt(() => ensureGroup(this.client, stream, group), 'creating the group'))
    ) {
      await this.pause(RETRY_MS)
    }
    this.markStarted()
    // This consumer's own pending entries first (a restart under the same name), then new ones.
    let backlogFrom: string | undefined = '0'
    let nextClaim = 0
    while (!this.stopped) {
      if (Date.now() >= nextClaim) {
        await this.attempt(() => this.claimStale(), 'claiming pending entries')
        nextClaim = Date.now() + Math.max(Math.floor(claimIdleMs / 2), 1)
      }
      if (this.buffer.length < batchSize && !this.stopped) {
        const from: string | undefined = backlogFrom
        const now = Date.now()
        const blockMs =
          this.buffer.length === 0
            ? Math.max(1, Math.min(IDLE_BLOCK_MS, nextClaim - now))
            : Math.max(1, this.deadline - now)
        const entries: RawEntry[] | undefined = await this.attempt(
          () => this.read(from, batchSize - this.buffer.length, blockMs),
          'reading',
        )
        if (entries === undefined) {
          await this.pause(RETRY_MS)
          continue
        }
        if (from !== undefined) backlogFrom = entries.length === 0 ? undefined : entries.at(-1)![0]
        await this.accept(entries, from !== undefined)
      }
      if (this.buffer.length > 0 && (this.buffer.length >= batchSize || Date.now() >= this.deadline)) {
        await this.flushBuffer()
      }
    }
  }

  /** XREADGROUP: new entries (`>`), blocking, or this consumer's pending ones after `from`. */
  private async read(from: string | undefined, count: number, blockMs: number): Promise<RawEntry[]> {
    const { stream, group } = this.options
    const reply = (
      from === undefined
        ? await this.reader.xreadgroup(
            'GROUP',
            group,
            this.consumer,
            'COUNT',
            count,
            'BLOCK',
            blockMs,
            'STREAMS',
            stream,
            '>',
          )
        : await this.reader.xreadgroup('GROUP', group, this.consumer, 'COUNT', count, 'STREAMS', stream, from)
    ) as Array<[string, RawEntry[]]> | null
    return reply?.[0]?.[1] ?? []
  }

  /** XAUTOCLAIM until no entry of the group has been idle longer than `claimIdle`. */
  private async claimStale(): Promise<void> {
    const { stream, group, claimIdleMs, batchSize } = this.options
    let start = '0-0'
    do {
      const [next, entries, deleted = []] = (await this.client.xautoclaim(
        stream,
        group,
        this.consumer,
        claimIdleMs,
        start,
        'COUNT',
        batchSize,
      )) as [string, RawEntry[], string[]?]
      // XAUTOCLAIM already dropped these from the group: they were trimmed before anyone flushed them.
      if (deleted.length > 0) this.reportLost(deleted)
      const taken = entries.filter(([id]) => !this.buffered.has(id))
      if (taken.length > 0) {
        this.counters.claimed += taken.length
        this.emitter.emit('claim', { entries: taken.length })
        await this.accept(taken, true)
      }
      if (this.buffer.length >= batchSize) await this.flushBuffer()
      start = next
    } while (start !== '0-0' && !this.stopped)
  }

  /** Adds read or claimed entries to the batch; what cannot be flushed is acknowledged or dead-lettered. */
  private async accept(entries: readonly RawEntry[], redelivered: boolean): Promise<void> {
    const { deserialize, maxAttempts, flushIntervalMs } = this.options
    const lost: string[] = []
    const fresh: Array<{ id: string; key: string | undefined; raw: string | undefined }> = []
    for (const [id, flat] of entries) {
      if (this.buffered.has(id)) continue
      if (!flat) {
        lost.push(id)
        continue
      }
      const fields = new Map<string, string>()
      for (let i = 0; i + 1 < flat.length; i += 2) fields.set(flat[i]!, flat[i + 1]!)
      fresh.push({ id, key: fields.get('k'), raw: fields.get('v') })
    }
    if (lost.length > 0) {
      this.reportLost(lost)
      await this.acknowledge(lost)
    }
    if (redelivered && fresh.length > 0) {
      // Without the counts (Redis failed), the entries start from 0 attempts: retried, not dropped.
      await this.attempt(() => this.loadDeliveryCounts(fresh.map(({ id }) => id)), 'reading delivery counts')
    }
    const wasEmpty = this.buffer.length === 0
    for (const { id, key, raw } of fresh) {
      const prior = this.priorAttempts.get(id) ?? 0
      // Kept only for what goes into the batch; flushBuffer forgets it again.
      this.priorAttempts.delete(id)
      if (key === undefined || raw === undefined) {
        await this.deadLetter(
          [{ id, key: key ?? '', raw: raw ?? '' }],
          new Error('entry has no `k` or `v` field'),
          prior,
        )
        continue
      }
      let value: V
      try {
        value = deserialize(raw)
      } catch (error) {
        await this.deadLetter([{ id, key, raw }], error, prior)
        continue
      }
      if (prior >= maxAttempts) {
        // Delivered that many times and never confirmed: the consumers holding it died or stalled on it.
        await this.deadLetter(
          [{ id, key, raw }],
          new Error(`delivered ${prior + 1} times without a confirmed write`),
          prior,
        )
        continue
      }
      this.buffer.push({ id, key, raw, value })
      this.buffered.add(id)
      if (prior > 0) this.priorAttempts.set(id, prior)
    }
    if (wasEmpty && this.buffer.length > 0) this.deadline = Date.now() + flushIntervalMs
  }

  /**
   * A delivery of an entry, taken over or re-read, is taken as one earlier sink attempt: a consumer
   * that crashes on an entry every time still sends it to the dead-letter stream after `maxAttempts`.
   */
  private async loadDeliveryCounts(ids: readonly string[]): Promise<void> {
    const { stream, group } = this.options
    const replies = await Promise.all(
      ids.map(
        (id) =>
          this.client.xpending(stream, group, id, id, 1) as Promise<Array<[string, string, number, number]>>,
      ),
    )
    for (const [index, reply] of replies.entries()) {
      const deliveries = reply[0]?.[3]
      if (typeof deliveries === 'number') this.priorAttempts.set(ids[index]!, Math.max(0, deliveries - 1))
    }
  }

  private async flushBuffer(): Promise<void> {
    const batch = this.buffer
    this.buffer = []
    this.buffered.clear()
    const groups = groupByKey(batch, (id) => this.priorAttempts.get(id) ?? 0)
    await this.deliver(groups)
    for (const entry of batch) this.priorAttempts.delete(entry.id)
  }

  /**
   * Writes the groups. A failed call is retried whole, after a backoff, while its keys have attempts
   * left (a sink that is down gets one call per backoff, not one per key). Keys out of attempts are
   * then split in halves and tried again at once, down to single keys: one record the sink always
   * refuses ends alone in the dead-letter stream, and the rest of its batch still gets written.
   */
  private async deliver(groups: KeyGroup<V>[]): Promise<void> {
    const { sink, maxAttempts, retryDelayMs, maxRetryDelayMs } = this.options
    const work: Array<{ part: KeyGroup<V>[]; delayMs: number }> = [{ part: groups, delayMs: 0 }]
    while (work.length > 0) {
      const { part, delayMs } = work.shift()!
      if (delayMs > 0) {
        await this.pause(delayMs)
        // Stopping leaves the rest pending: another consumer (or this one, restarted) takes it over.
        if (this.stopped) return
        await this.keepClaimed(part)
      }
      const records = part.map(({ key, entries }) => {
        const last = entries.at(-1)!
        return { key, value: last.value, version: last.id }
      })
      const startedAt = Date.now()
      try {
        await sink.writeBatch(records)
      } catch (error) {
        for (const group of part) group.attempts++
        const exhausted = part.filter(({ attempts }) => attempts >= maxAttempts)
        const rest = part.filter(({ attempts }) => attempts < maxAttempts)
        if (part.length === 1 && exhausted.length === 1) {
          await this.deadLetter(exhausted[0]!.entries, error, exhausted[0]!.attempts)
          continue
        }
        if (exhausted.length > 0) {
          const middle = Math.ceil(exhausted.length / 2)
          const halves =
            exhausted.length > 1 ? [exhausted.slice(0, middle), exhausted.slice(middle)] : [exhausted]
          work.unshift(...halves.map((half) => ({ part: half, delayMs: 0 })))
          this.retrying(exhausted, 0, error)
        }
        if (rest.length > 0) {
          const attempt = Math.max(...rest.map(({ attempts }) => attempts))
          const next = backoffDelay(attempt, retryDelayMs, maxRetryDelayMs)
          work.push({ part: rest, delayMs: Math.max(next, 1) })
          this.retrying(rest, next, error)
        }
        continue
      }
      const ids = part.flatMap(({ entries }) => entries.map(({ id }) => id))
      // Acknowledged only now: a crash before this line leaves the entries pending, to be written again.
      if (await this.acknowledge(ids)) {
        this.counters.flushed += ids.length
        this.counters.batches++
        const durationMs = Date.now() - startedAt
        await this.trim()
        this.emitter.emit('flush', { entries: ids.length, records: records.length, durationMs })
      }
    }
  }

  private retrying(groups: readonly KeyGroup<V>[], delayMs: number, error: unknown): void {
    this.counters.retries++
    const attempt = Math.max(...groups.map(({ attempts }) => attempts)) + 1
    const entries = groups.reduce((n, { entries }) => n + entries.length, 0)
    this.emitter.emit('retry', { entries, attempt, delayMs, error })
  }

  /**
   * Resets the idle time of entries held through retries (XCLAIM JUSTID, which leaves the delivery
   * count alone), so other consumers do not take over a batch that is only waiting for its backoff.
   */
  private async keepClaimed(groups: readonly KeyGroup<V>[]): Promise<void> {
    const { stream, group } = this.options
    const ids = groups.flatMap(({ entries }) => entries.map(({ id }) => id))
    await this.attempt(
      () => this.client.xclaim(stream, group, this.consumer, 0, ...ids, 'JUSTID'),
      'holding retried entries',
    )
  }

  /** XADD to the dead-letter stream, then XACK: a crash in between leaves a duplicate, never a loss. */
  private async deadLetter(
    entries: ReadonlyArray<Pick<PendingEntry<V>, 'id' | 'key' | 'raw'>>,
    error: unknown,
    attempts: number,
  ): Promise<void> {
    const { stream, deadLetterStream } = this.options
    const message = error instanceof Error ? error.message : String(error)
    const added = await this.attempt(
      () =>
        Promise.all(
          entries.map(
            ({ id, key, raw }) =>
              this.client.xadd(
                deadLetterStream,
                '*',
                'id',
                id,
                'k',
                key,
                'v',
                raw,
                'error',
                message,
                'attempts',
                String(attempts),
                'stream',
                stream,
              ) as Promise<string>,
          ),
        ),
      'adding to the dead-letter stream',
    )
    // Not acknowledged: the entries stay pending and come back through a claim.
    if (!added) return
    if (!(await this.acknowledge(entries.map(({ id }) => id)))) return
    this.counters.deadLettered += entries.length
    for (const [index, { id, key }] of entries.entries()) {
      this.emitter.emit('deadLetter', { id, key, attempts, error, deadLetterId: added[index]! })
    }
  }

  private async acknowledge(ids: readonly string[]): Promise<boolean> {
    const { stream, group } = this.options
    const done = await this.attempt(() => this.client.xack(stream, group, ...ids), 'acknowledging entries')
    if (done === undefined) return false
    for (const listener of [...this.ackListeners]) listener()
    return true
  }

  /**
   * XTRIM MINID ~ below the oldest entry the group still needs (its oldest pending one, or the last
   * delivered), so the stream holds about the lag, not the history. At most once a second.
   */
  private async trim(): Promise<void> {
    const { stream, group, trimAcknowledged } = this.options
    if (!trimAcknowledged || Date.now() < this.nextTrim) return
    this.nextTrim = Date.now() + TRIM_EVERY_MS
    await this.attempt(async () => {
      const [count, oldestPending] = (await this.client.xpending(stream, group)) as [number, string | null]
      const info = count > 0 ? undefined : await groupInfo(this.client, stream, group)
      const keepFrom = count > 0 ? oldestPending : info?.lastDeliveredId
      if (keepFrom && keepFrom !== '0-0') await this.client.xtrim(stream, 'MINID', '~', keepFrom)
    }, 'trimming the stream')
  }

  private reportLost(ids: readonly string[]): void {
    this.counters.lost += ids.length
    this.emitter.emit('lost', { ids })
  }

  /** Runs a Redis step; a failure is reported (and a deleted group recreated), never thrown. */
  private async attempt<R>(step: () => Promise<R>, what: string): Promise<R | undefined> {
    try {
      return await step()
    } catch (error) {
      if (this.stopped) return undefined
      if (error instanceof Error && error.message.startsWith('NOGROUP')) {
        await ensureGroup(this.client, this.options.stream, this.options.group).catch(() => undefined)
      }
      this.report(
        new BusFailureError(
          `[cachekit/patterns] write-behind: ${what} on stream "${this.options.stream}" failed`,
          {
            cause: error,
          },
        ),
      )
      return undefined
    }
  }

  private pause(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve()
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        this.wakeUp = undefined
        resolve()
      }
      const timer = setTimeout(done, ms)
      this.wakeUp = done
    })
  }
}
