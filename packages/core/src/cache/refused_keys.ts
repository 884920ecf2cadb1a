import { globToRegExp } from '../glob.js'

/** Most patterns remembered (refused clears and pattern deletes are rare); past it, one time stands in. */
const MAX_PATTERNS = 100

/**
 * Keys whose old copies in the remote tier this process must not serve, because the store refused to
 * remove them: a refused write whose old copy could not be deleted either (a read-only replica refuses
 * DEL too), a refused delete, clear or pattern delete. An entry read back under such a key reads as a
 * miss when it was created at or before the refusal; an entry created since (written by anyone) is
 * served, and a later write or delete of the key from this process that succeeds forgets the mark.
 *
 * Why not simply keep serving the old copy: the caller asked for it to be replaced or gone, and a
 * miss is always safe where an old value is not. Why not a miss for good: the refusal may end (memory
 * freed, a failover), and entries written after it are current.
 *
 * Bounded like the outage keys: past `maxKeys` per-key marks (or `MAX_PATTERNS` patterns), they are
 * dropped and one time stands in for every key, which only turns a few more old entries into misses.
 */
export class RefusedKeys {
  private readonly keys = new Map<string, number>()
  private readonly patterns: Array<{ regexp: RegExp; at: number }> = []
  /** Entries created at or before this time read as misses, whatever their key. */
  private allBefore = Number.NEGATIVE_INFINITY
  /** False while nothing is remembered, so reads pay one property check. */
  active = false

  constructor(private readonly maxKeys: number) {}

  /** True when an entry of `key` created at `createdAt` must read as a miss. */
  hides(key: string, createdAt: number): boolean {
    if (createdAt <= this.allBefore) return true
    const at = this.keys.get(key)
    if (at !== undefined && createdAt <= at) return true
    for (const pattern of this.patterns) {
      if (createdAt <= pattern.at && pattern.regexp.test(key)) return true
    }
    return false
  }

  markKeys(keys: readonly string[], at: number): void {
    this.active = true
    if (this.keys.size + keys.length > this.maxKeys) {
      this.keys.clear()
      this.allBefore = Math.max(this.allBefore, at)
      return
    }
    for (const key of keys) this.keys.set(key, at)
  }

  /** A store-level glob (`escapeGlob(prefix)*` for a clear). */
  markPattern(pattern: string, at: number): void {
    this.active = true
    if (this.patterns.length >= MAX_PATTERNS) {
      this.patterns.length = 0
      this.allBefore = Math.max(this.allBefore, at)
      return
    }
    this.patterns.push({ regexp: globToRegExp(pattern), at })
  }

  /** A write or delete of these keys reached the store: whatever it holds for them now is current. */
  forget(keys: readonly string[]): void {
    if (this.keys.size === 0) return
    for (const key of keys) this.keys.delete(key)
    this.active = this.keys.size > 0 || this.patterns.length > 0 || this.allBefore > Number.NEGATIVE_INFINITY
  }
}
