import { InvalidOptionError } from '../errors.js'
import { escapeGlob } from '../glob.js'

/**
 * Where a cache, or one of its namespaces, keeps its keys.
 *
 * A store key is the prefix, the escaped namespace names each followed by `:`, then `:` and the key
 * as given (`shop:tenant%3A1::product:7`). Namespace names are user data (a tenant id, a region),
 * so each is escaped: `:` (our separator), `%` (our escape), and `{` `}` (Redis Cluster hash tags,
 * which would let a name pick its slot). An escaped name is never empty and never holds a `:`, so
 * read from the left the first empty segment (`::`) always ends the namespace path, and what
 * follows is the key, whatever it contains. No key of one namespace can therefore name an entry of
 * another, nested or not: `ns('a').get('b::k')` is `…:a::b::k`, `ns('a').ns('b').get('k')` is
 * `…:a:b::k`. Keys themselves are never escaped, so a read costs one string concatenation.
 */
const SEGMENT_SPECIAL = /[%:{}]/g

function escapeSegment(name: string): string {
  return name.replace(SEGMENT_SPECIAL, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`)
}

export class KeySpace {
  /**
   * The literal start of every store key of this space and of the spaces nested in it, e.g.
   * `shop:tenant%3A1:`: what `clear` deletes under.
   */
  readonly path: string
  /** The literal start of this space's own keys: its path, then `:`. */
  readonly root: string

  private constructor(path: string) {
    this.path = path
    this.root = `${path}:`
  }

  /** The space of a cache. `prefix` is the developer's, not user data: hash tags in it are kept. */
  static forPrefix(prefix: string): KeySpace {
    return new KeySpace(prefix === '' ? '' : `${prefix}:`)
  }

  /** The key a store sees for a key of this space. */
  keyOf(key: string): string {
    return this.root + key
  }

  /** A nested space whose keys can never collide with its parent's or a sibling's. */
  child(name: string): KeySpace {
    if (typeof name !== 'string' || name === '') {
      throw new InvalidOptionError('[cachekit/core] a namespace name must be a non-empty string')
    }
    return new KeySpace(`${this.path}${escapeSegment(name)}:`)
  }

  /**
   * A store-level glob for a user pattern over this space's own keys: the root is escaped so it
   * matches only itself, and keys of nested spaces never match (they hold no `::` there).
   */
  patternOf(pattern: string): string {
    return escapeGlob(this.root) + pattern
  }
}

/**
 * Keys the cache keeps for itself next to the entries of a cache whose path is `path`: a `%`
 * right after a path is never written by an escaped namespace name (it would be `%25`), and no
 * store key of an entry has one there, so these can never be an entry's key.
 */
export function internalKey(path: string, purpose: 'probe' | 'lock', key = ''): string {
  return `${path}%${purpose}:${key}`
}
