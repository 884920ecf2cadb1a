import { createHash } from 'node:crypto'

/** Keys longer than this (in UTF-16 code units) are replaced by a hash. */
export const MAX_KEY_LENGTH = 250

/**
 * What a decorated method caches under a long key: the value with the key it stands for. Redis
 * keys of any length work, but long ones cost memory on every node and every scan, so a key over
 * `MAX_KEY_LENGTH` becomes `<start>#<sha256 base64url>` and the original is kept next to the value,
 * for debugging (`redis-cli`, `cache.get`) and to check that the hash found its own entry.
 */
export interface HashedKeyEntry<T = unknown> {
  /** The key before hashing. */
  readonly cachekitKey: string
  /** The method's result. */
  readonly value: T
}

/**
 * The key to cache under: `key` itself when short enough, else its first 32 characters, `#` and its
 * SHA-256 in base64url, which stays readable in a key listing and unique (43 characters of hash).
 */
export function storedKey(key: string, maxLength: number): { key: string; hashed: boolean } {
  if (key.length <= maxLength) return { key, hashed: false }
  const hash = createHash('sha256').update(key).digest('base64url')
  return { key: `${key.slice(0, 32)}#${hash}`, hashed: true }
}

/** True for the wrapper of a hashed key whose original is `key`. */
export function isEntryOf(value: unknown, key: string): value is HashedKeyEntry {
  return typeof value === 'object' && value !== null && (value as HashedKeyEntry).cachekitKey === key
}
