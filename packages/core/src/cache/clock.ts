/**
 * The time of writes and tag invalidations, in ms since the epoch: wall-clock time, made strictly
 * increasing within the process (by a microsecond when two calls share a millisecond).
 *
 * Tags compare an entry's creation time with its tags' invalidation times, and equal times count as
 * invalidated. With `Date.now()` alone, `invalidateTags(['x'])` followed in the same millisecond by
 * `set(key, v, { tags: ['x'] })` would read the new value as invalidated. Strictly increasing times
 * order every write and invalidation of this process the way they were made. Shared by every cache
 * of the process, because caches may share a tag index.
 */
let last = 0

export function writeClock(): number {
  const now = Date.now()
  last = now > last ? now : last + 0.001
  return last
}
