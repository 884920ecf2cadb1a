import { BoundedMap } from './bounded_map.js'

/** How many channels a sender keeps a counter for; the least recently used one restarts at 1. */
const MAX_CHANNELS = 10_000

/**
 * The sending side of loss detection: one counter per channel, starting at 1.
 *
 * Per channel rather than one per sender, because a receiver that listens to some of a sender's
 * channels only would otherwise see every message on the other channels as a gap. A counter that is
 * evicted restarts at 1, which receivers read as a restart, not a gap (see `SequenceTracker`).
 */
export class SequenceCounter {
  private readonly counters = new BoundedMap<string, number>(MAX_CHANNELS)

  /** The number the next message on `channel` gets; `commit` it once the message is built. */
  peek(channel: string): number {
    return (this.counters.get(channel) ?? 0) + 1
  }

  commit(channel: string, seq: number): void {
    this.counters.set(channel, seq)
  }
}
