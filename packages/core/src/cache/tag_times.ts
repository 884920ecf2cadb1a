import type { EntryHeader } from '../entry_frame.js'
import type { TagIndex } from '../tag_index.js'
import { withTimeout } from '../util/with_timeout.js'
import { staleTagName } from './tag_names.js'

/** `check` verdicts. A positive verdict is the time a lazy invalidation made the entry stale. */
export const TAGS_VALID = 0
export const TAGS_INVALID = -1
export const TAGS_UNKNOWN = -2

/**
 * What this process knows of one tag. `complete` is false while only part of the truth is known:
 * an invalidation heard on the bus (or made here) before the tag's times were read from the index.
 * A partial time is still decisive when it invalidates an entry; otherwise the tag counts as unknown.
 */
interface TagTime {
  hard: number
  soft: number
  complete: boolean
  learnedAt: number
}

export interface TagTimesOptions {
  index: TagIndex
  /**
   * How long a time read from the index may be used without reading it again. Infinite with a bus,
   * which reports every invalidation (and says when it may have lost one); short without.
   */
  trustMs: number
  /** Most tags remembered; past it the tag learned longest ago is forgotten and read again when needed. */
  maxTags: number
  /** How long one index call may take. */
  timeoutMs: number
  /** Reports an index failure; never throws. */
  report: (error: unknown) => void
}

const RETRY_FIRST_MS = 250
const RETRY_MAX_MS = 10_000
/** Invalidations kept for retry while the index is unreachable; past it the oldest are dropped. */
const MAX_UNSENT = 100_000

/**
 * This process's copy of tag invalidation times (the "L1" of the TagIndex). Reads check an entry
 * against it synchronously, so an L1 hit on a tagged entry costs a few map lookups and no I/O. Tags
 * it does not know are read from the index in one call, shared by every read waiting on them.
 *
 * Times only move forward (max-merge), so the order in which the bus, the index and local calls
 * report them does not matter. When the bus may have lost a message everything is forgotten and read
 * again. An invalidation the index could not record is kept and retried, so a brief Redis outage
 * cannot silently undo it for the other processes.
 */
export class TagTimes {
  private readonly known = new Map<string, TagTime>()
  private readonly fetching = new Map<string, Promise<void>>()
  private readonly unsent = new Map<string, number>()
  private generation = 0
  private retryTimer: NodeJS.Timeout | undefined
  private retryDelayMs = RETRY_FIRST_MS
  private stopped = false

  constructor(private readonly options: TagTimesOptions) {}

  /**
   * Whether the entry still stands: `TAGS_VALID`, `TAGS_INVALID`, `TAGS_UNKNOWN` (call `resolve`
   * with its tags first), or the time a lazy invalidation made it stale.
   */
  check(entry: Pick<EntryHeader, 'createdAt' | 'tags'>): number {
    const trustMs = this.options.trustMs
    const now = trustMs === Number.POSITIVE_INFINITY ? 0 : Date.now()
    let verdict = TAGS_VALID
    for (const tag of entry.tags) {
      const time = this.known.get(tag)
      if (time === undefined) return TAGS_UNKNOWN
      if (time.hard >= entry.createdAt) return TAGS_INVALID
      if (!time.complete || (now !== 0 && now - time.learnedAt > trustMs)) {
        verdict = TAGS_UNKNOWN
      } else if (verdict !== TAGS_UNKNOWN && time.soft >= entry.createdAt && time.soft > verdict) {
        verdict = time.soft
      }
    }
    return verdict
  }

  /**
   * `check`, reading the times of unknown tags from the index first. A tag the index could not
   * answer for invalidates the entry: a miss is always safe, a resurrected entry is not.
   */
  async checkResolved(entry: Pick<EntryHeader, 'createdAt' | 'tags'>): Promise<number> {
    const verdict = this.check(entry)
    if (verdict !== TAGS_UNKNOWN) return verdict
    await this.resolve(entry.tags)
    const resolved = this.check(entry)
    return resolved === TAGS_UNKNOWN ? TAGS_INVALID : resolved
  }

  /** Reads the times of the tags not known (or no longer trusted) from the index, in one call. */
  async resolve(tags: readonly string[]): Promise<void> {
    const now = Date.now()
    const missing: string[] = []
    const waits: Array<Promise<void>> = []
    for (const tag of tags) {
      if (this.isTrusted(tag, now)) continue
      const pending = this.fetching.get(tag)
      if (pending) waits.push(pending)
      else if (!missing.includes(tag)) missing.push(tag)
    }
    if (missing.length > 0) {
      const fetch = this.fetch(missing)
      for (const tag of missing) this.fetching.set(tag, fetch)
      waits.push(fetch)
    }
    if (waits.length > 0) await Promise.all(waits)
  }

  /** `resolve` for every tag the entries need and this process does not know: one index call. */
  async resolveFor(
    entries: ReadonlyArray<Pick<EntryHeader, 'createdAt' | 'tags'> | undefined>,
  ): Promise<void> {
    const unknown: string[] = []
    for (const entry of entries) {
      if (entry && entry.tags.length !== 0 && this.check(entry) === TAGS_UNKNOWN) unknown.push(...entry.tags)
    }
    if (unknown.length > 0) await this.resolve(unknown)
  }

  /** Records an invalidation made here, before the index has it. */
  learn(tags: readonly string[], at: number, lazy: boolean): void {
    this.merge(tags, at, lazy, true)
  }

  /**
   * Records an invalidation heard on the bus. When the sender wrote the index before publishing
   * (`indexed`), a tag not known here is read right from the index later; only a read already in
   * flight may have missed it, and only such tags (and known ones) are recorded. This keeps a stream
   * of dependency changes from crowding out the tags this process actually reads.
   */
  hear(tags: readonly string[], at: number, lazy: boolean, indexed: boolean): void {
    this.merge(tags, at, lazy, !indexed)
  }

  /**
   * Invalidates tags: here at once, then in the index. Resolves with true when the index has it, or
   * false when it failed (reported, and retried in the background until it succeeds).
   */
  async invalidate(tags: readonly string[], at: number, lazy: boolean): Promise<boolean> {
    this.learn(tags, at, lazy)
    const names = lazy ? tags.map(staleTagName) : tags
    try {
      await withTimeout(this.options.index.invalidate(names, at), this.options.timeoutMs, 'invalidateTags')
      return true
    } catch (error) {
      this.options.report(error)
      this.keepForRetry(names, at)
      return false
    }
  }

  /** Forgets every time: the bus may have lost an invalidation, so all are read again. */
  forgetAll(): void {
    this.generation++
    this.known.clear()
  }

  /** Invalidations still waiting for the index. */
  get pending(): number {
    return this.unsent.size
  }

  /** Stops retrying; resolves once a last attempt to send what is pending is over. */
  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.retryTimer)
    if (this.unsent.size > 0) await this.flush().catch(() => undefined)
  }

  private merge(tags: readonly string[], at: number, lazy: boolean, unknownToo: boolean): void {
    const now = Date.now()
    for (const tag of tags) {
      const time = this.known.get(tag)
      if (time) {
        if (lazy) time.soft = Math.max(time.soft, at)
        else time.hard = Math.max(time.hard, at)
      } else if (unknownToo || this.fetching.has(tag)) {
        this.remember(tag, { hard: lazy ? 0 : at, soft: lazy ? at : 0, complete: false, learnedAt: now })
      }
    }
  }

  private isTrusted(tag: string, now: number): boolean {
    const time = this.known.get(tag)
    return time?.complete === true && now - time.learnedAt <= this.options.trustMs
  }

  private async fetch(tags: string[]): Promise<void> {
    const generation = this.generation
    const startedAt = Date.now()
    const names = tags.flatMap((tag) => [tag, staleTagName(tag)])
    try {
      const times = await withTimeout(
        this.options.index.invalidatedAt(names),
        this.options.timeoutMs,
        'invalidatedAt',
      )
      // Times read before a loss may predate the invalidation that was lost: not kept.
      if (generation !== this.generation) return
      for (const [i, tag] of tags.entries()) {
        const hard = times[2 * i] ?? 0
        const soft = times[2 * i + 1] ?? 0
        const time = this.known.get(tag)
        if (time) {
          time.hard = Math.max(time.hard, hard)
          time.soft = Math.max(time.soft, soft)
          time.complete = true
          time.learnedAt = startedAt
        } else {
          this.remember(tag, { hard, soft, complete: true, learnedAt: startedAt })
        }
      }
    } catch (error) {
      this.options.report(error)
    } finally {
      for (const tag of tags) this.fetching.delete(tag)
    }
  }

  private remember(tag: string, time: TagTime): void {
    if (this.known.size >= this.options.maxTags) {
      const oldest = this.known.keys().next().value
      if (oldest !== undefined) this.known.delete(oldest)
    }
    this.known.set(tag, time)
  }

  private keepForRetry(names: readonly string[], at: number): void {
    for (const name of names) {
      if (this.unsent.size >= MAX_UNSENT) {
        const oldest = this.unsent.keys().next().value
        if (oldest !== undefined) this.unsent.delete(oldest)
      }
      this.unsent.set(name, Math.max(this.unsent.get(name) ?? 0, at))
    }
    this.scheduleRetry()
  }

  private scheduleRetry(): void {
    if (this.stopped || this.retryTimer) return
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined
      this.flush().then(
        () => {
          this.retryDelayMs = RETRY_FIRST_MS
        },
        (error: unknown) => {
          this.options.report(error)
          this.retryDelayMs = Math.min(RETRY_MAX_MS, this.retryDelayMs * 2)
          this.scheduleRetry()
        },
      )
    }, this.retryDelayMs)
    this.retryTimer.unref()
  }

  /** Sends pending invalidations, grouped by time (usually one group per failed call). */
  private async flush(): Promise<void> {
    const byTime = new Map<number, string[]>()
    for (const [name, at] of this.unsent) {
      const group = byTime.get(at)
      if (group) group.push(name)
      else byTime.set(at, [name])
    }
    for (const [at, names] of byTime) {
      await withTimeout(this.options.index.invalidate(names, at), this.options.timeoutMs, 'invalidateTags')
      for (const name of names) if (this.unsent.get(name) === at) this.unsent.delete(name)
    }
  }
}
