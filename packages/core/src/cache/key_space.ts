import { InvalidOptionError } from '../errors.js'
import { escapeGlob } from '../glob.js'

/**
 * Namespace names are user data (a tenant id, a region), so each is escaped before it becomes part
 * of a key: `:` (our separator), `%` (our escape), and `{` `}` (Redis Cluster hash tags, which would
 * let a name pick its slot). Siblings can then never collide: namespace `a:b` is `a%3Ab`, never `a`
 * then `b`. Glob characters are left as they are and escaped where a key becomes a pattern.
 */
const SEGMENT_SPECIAL = /[%:{}]/g

function escapeSegment(name: string): string {
  return name.replace(SEGMENT_SPECIAL, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`)
}

/** Where a cache, or one of its namespaces, keeps its keys. */
export class KeySpace {
  /** The literal prefix of every key in this space, e.g. `app:tenant%3A1:`. */
  readonly root: string

  private constructor(root: string) {
    this.root = root
  }

  /** The space of a cache. `prefix` is the developer's, not user data: hash tags in it are kept. */
  static forPrefix(prefix: string): KeySpace {
    return new KeySpace(prefix === '' ? '' : `${prefix}:`)
  }

  /** The key a store sees for a key of this space. */
  keyOf(key: string): string {
    return this.root + key
  }

  /** A nested space whose keys can never collide with a sibling's. */
  child(name: string): KeySpace {
    if (typeof name !== 'string' || name === '') {
      throw new InvalidOptionError('[cachekit/core] a namespace name must be a non-empty string')
    }
    return new KeySpace(`${this.root}${escapeSegment(name)}:`)
  }

  /** A store-level glob for a user pattern: the root is escaped so it matches only itself. */
  patternOf(pattern: string): string {
    return escapeGlob(this.root) + pattern
  }
}
