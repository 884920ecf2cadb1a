import type { EntryHeader } from './entry_frame.js'

/**
 * The TagIndex contract: where tag invalidation times live. Invalidating a tag is O(1) whatever the
 * number of tagged keys: it records a time. A read then compares the entry's creation time with the
 * invalidation times of its tags (lazy invalidation); physical clean-up may run in the background.
 */
export interface TagIndex {
  /** Records that entries carrying any of `tags`, created at or before `at`, are invalid. */
  invalidate(tags: readonly string[], at: number): Promise<void>
  /** The latest invalidation time of each tag, in the order asked; 0 for a tag never invalidated. */
  invalidatedAt(tags: readonly string[]): Promise<number[]>
  /** Releases what the index owns. */
  close?(): Promise<void>
}

/**
 * True when one of the entry's tags was invalidated at or after the entry was created.
 * Equal times count as invalidated: a write in the same millisecond as an invalidation reads as a
 * miss rather than risk serving what the invalidation meant to drop.
 */
export function isInvalidatedByTags(
  entry: Pick<EntryHeader, 'createdAt'>,
  tagTimes: readonly number[],
): boolean {
  for (const time of tagTimes) if (time >= entry.createdAt) return true
  return false
}
