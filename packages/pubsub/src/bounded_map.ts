/**
 * A Map that keeps its `limit` most recently written entries. Sender ids and channel names come from
 * the network and from app code, so every per-sender or per-channel table of the bus is bounded:
 * a long-lived instance that sees thousands of senders restart must not grow without end.
 */
export class BoundedMap<K, V> {
  private readonly entries = new Map<K, V>()

  constructor(private readonly limit: number) {}

  get(key: K): V | undefined {
    return this.entries.get(key)
  }

  /** Writes and marks the entry as the most recent; evicts the oldest beyond the limit. */
  set(key: K, value: V): void {
    // Delete first so the key moves to the end of the insertion order (the "recent" end).
    this.entries.delete(key)
    this.entries.set(key, value)
    if (this.entries.size > this.limit) {
      const oldest = this.entries.keys().next()
      if (!oldest.done) this.entries.delete(oldest.value)
    }
  }

  /** Deletes every entry whose key matches. */
  deleteWhere(predicate: (key: K) => boolean): void {
    for (const key of [...this.entries.keys()]) if (predicate(key)) this.entries.delete(key)
  }

  clear(): void {
    this.entries.clear()
  }

  get size(): number {
    return this.entries.size
  }
}
