import { BoundedMap } from './bounded_map.js'

/** How many (channel, sender) pairs a receiver remembers; the least recently heard one is forgotten. */
const MAX_TRACKED = 10_000

/**
 * The receiving side of loss detection: the last sequence number seen per channel and sender.
 *
 * - The first message from a sender on a channel sets the baseline; nothing before it can be judged
 *   (a new subscriber, a sender that just started or was forgotten).
 * - `seq === last + 1` is the normal case.
 * - `seq > last + 1`: `seq - last - 1` messages were lost in between.
 * - `seq <= last`: the sender restarted under the same instance id (a fixed id), or evicted its
 *   counter, or the message came twice (a channel and a pattern subscription both match it). None of
 *   these is a loss; the baseline moves to `seq`.
 */
export class SequenceTracker {
  private readonly last = new BoundedMap<string, number>(MAX_TRACKED)

  /** Records a message; returns how many messages from this sender on this channel were missed. */
  observe(channel: string, instanceId: string, seq: number): number {
    const key = trackerKey(channel, instanceId)
    const previous = this.last.get(key)
    this.last.set(key, seq)
    return previous !== undefined && seq > previous + 1 ? seq - previous - 1 : 0
  }

  /** Forgets the channels a subscription no longer covers, so a later one does not see a false gap. */
  forgetChannels(covers: (channel: string) => boolean): void {
    this.last.deleteWhere((key) => covers(key.slice(0, key.lastIndexOf('\0'))))
  }

  /** Forgets everything: after a disconnect, which is reported as a loss of its own. */
  reset(): void {
    this.last.clear()
  }
}

// A channel name may contain anything, an instance id never contains NUL (envelopes with one are
// rejected), so the last NUL of a key is always the separator.
function trackerKey(channel: string, instanceId: string): string {
  return `${channel}\0${instanceId}`
}
