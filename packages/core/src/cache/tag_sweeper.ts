import type { CacheEntry } from '../entry.js'
import type { EntryHeader } from '../entry_frame.js'
import type { Store } from '../store.js'
import { inBatches } from '../util/in_batches.js'
import type { CacheEvents } from './cache_events.js'
import type { RemoteTier } from './remote_tier.js'
import { TAGS_INVALID, type TagTimes } from './tag_times.js'

export interface TagSweeperOptions {
  l1: Store<CacheEntry> | undefined
  remote: RemoteTier | undefined
  tagTimes: TagTimes
  /** Store-level glob of the cache's keys. */
  pattern: string
  /** Keys looked at per step. */
  batchSize: number
  /** Rest between steps, so a sweep of a large keyspace never crowds out the app's own calls. */
  pauseMs: number
  events: CacheEvents
  report: (error: unknown) => void
}

/**
 * Removes entries invalidated by tags physically, in the background. Reads already treat them as
 * misses, so this only gives memory back: it walks the keys in small steps with a rest between steps,
 * one sweep at a time, and a sweep asked for while one runs makes it run once more afterwards.
 *
 * L1 is swept on every instance that learns of an invalidation; L2 only by the instance that made it,
 * so a fleet does not scan Redis once per process. An entry rewritten between the read and the
 * delete is deleted too: that costs one miss, never a stale read.
 */
export class TagSweeper {
  private running: Promise<void> | undefined
  private again = false
  private remoteWanted = false
  private stopped = false
  /** Ends the pause a sweep is in, so `stop` never waits on a timer. */
  private endPause: (() => void) | undefined

  constructor(private readonly options: TagSweeperOptions) {}

  /** Asks for a sweep of L1, and of L2 too when `remote`. */
  schedule(remote: boolean): void {
    if (this.stopped) return
    this.remoteWanted ||= remote
    if (this.running) {
      this.again = true
      return
    }
    this.running = this.run().finally(() => {
      this.running = undefined
      if (this.again) {
        this.again = false
        this.schedule(false)
      }
    })
  }

  /** Resolves when no sweep is running; for tests and `close`. */
  async idle(): Promise<void> {
    while (this.running) await this.running
  }

  async stop(): Promise<void> {
    this.stopped = true
    this.endPause?.()
    await this.idle()
  }

  private async run(): Promise<void> {
    const sweepRemote = this.remoteWanted
    this.remoteWanted = false
    let removed = 0
    let scanned = 0
    try {
      const local = await this.sweepLocal()
      removed += local.removed
      scanned += local.scanned
      if (sweepRemote && this.options.remote) {
        const remote = await this.options.remote.sweep(this.options.pattern, {
          batchSize: this.options.batchSize,
          isDead: (headers) => this.deadOnes(headers),
          pause: () => this.pause(),
          stopped: () => this.stopped,
        })
        removed += remote.removed
        scanned += remote.scanned
      }
    } catch (error) {
      this.options.report(error)
    }
    if (this.options.events.has('tags:cleanup'))
      this.options.events.emit('tags:cleanup', { removed, scanned })
  }

  private async sweepLocal(): Promise<{ removed: number; scanned: number }> {
    const { l1, tagTimes, batchSize } = this.options
    let removed = 0
    let scanned = 0
    if (!l1) return { removed, scanned }
    for await (const batch of inBatches(l1.scan(this.options.pattern), batchSize)) {
      if (this.stopped) break
      const entries = await l1.getMany(batch)
      const dead = batch.filter((_, i) => {
        const entry = entries[i]
        // Unknown tags are left alone here: the next read resolves them and drops the entry.
        return entry !== undefined && entry.tags.length > 0 && tagTimes.check(entry) === TAGS_INVALID
      })
      scanned += batch.length
      if (dead.length > 0) removed += await l1.delete(dead)
      await this.pause()
    }
    return { removed, scanned }
  }

  private async deadOnes(headers: ReadonlyArray<EntryHeader | undefined>): Promise<boolean[]> {
    const { tagTimes } = this.options
    await tagTimes.resolveFor(headers)
    return headers.map(
      (header) => header !== undefined && header.tags.length > 0 && tagTimes.check(header) === TAGS_INVALID,
    )
  }

  /**
   * A pause between batches, on an unref'd timer: a sweep never keeps a process alive. `stop` ends
   * it at once; waiting on the timer instead would leave `close()` pending on a timer that no longer
   * keeps the event loop running, and a process awaiting `close()` would exit without finishing.
   */
  private pause(): Promise<void> {
    if (this.stopped) return Promise.resolve()
    return new Promise((resolve) => {
      const end = () => {
        clearTimeout(timer)
        if (this.endPause === end) this.endPause = undefined
        resolve()
      }
      const timer = setTimeout(end, this.options.pauseMs).unref()
      this.endPause = end
    })
  }
}
