import { compareVersions } from './version.js'

/** An entry read from the stream, on its way to the sink. */
export interface PendingEntry<V> {
  readonly id: string
  readonly key: string
  /** The stored string, kept for the dead-letter stream. */
  readonly raw: string
  readonly value: V
}

/** The entries of one key in a batch; they succeed or fail together. */
export interface KeyGroup<V> {
  readonly key: string
  /** In stream order; the last one is what the sink gets. */
  readonly entries: PendingEntry<V>[]
  /** Sink calls that included this key and failed (earlier deliveries counted in). */
  attempts: number
}

/**
 * Groups a batch by key, each group's entries in stream order, so the sink gets only the last write
 * of each key and the older ones are acknowledged with it.
 */
export function groupByKey<V>(
  entries: readonly PendingEntry<V>[],
  attemptsOf: (id: string) => number,
): KeyGroup<V>[] {
  const groups = new Map<string, KeyGroup<V>>()
  for (const entry of [...entries].sort((a, b) => compareVersions(a.id, b.id))) {
    const group = groups.get(entry.key)
    if (group) {
      group.entries.push(entry)
      group.attempts = Math.max(group.attempts, attemptsOf(entry.id))
    } else {
      groups.set(entry.key, { key: entry.key, entries: [entry], attempts: attemptsOf(entry.id) })
    }
  }
  return [...groups.values()]
}
