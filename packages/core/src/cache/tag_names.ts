import { InvalidOptionError } from '../errors.js'

/**
 * How tags are named in the TagIndex and inside entries.
 *
 * A user's tag is scoped to the key space it was given in (`tenant%3A1:products`), so a namespace
 * invalidating `products` never touches another namespace's `products`. Names the cache makes for
 * itself start with NUL, which user tags may not contain, so the two can never collide.
 */
const RESERVED = '\u0000'

/** Where a lazy (mark-stale) invalidation of a tag is recorded, next to its immediate one. */
export function staleTagName(tag: string): string {
  return `${RESERVED}stale:${tag}`
}

/** The tag every dependent of `storeKey` carries; moved forward when the key is written or deleted. */
export function dependencyTag(storeKey: string): string {
  return `${RESERVED}key:${storeKey}`
}

/** Checks the tags a caller gave and scopes them to the key space rooted at `root`. */
export function scopeTags(root: string, tags: readonly string[]): string[] {
  if (!Array.isArray(tags)) {
    throw new InvalidOptionError('[cachekit/core] tags must be an array of strings')
  }
  const scoped: string[] = []
  for (const tag of tags) {
    if (typeof tag !== 'string' || tag === '') {
      throw new InvalidOptionError(`[cachekit/core] a tag must be a non-empty string, got ${String(tag)}`)
    }
    if (tag.includes(RESERVED)) {
      throw new InvalidOptionError('[cachekit/core] a tag may not contain the NUL character')
    }
    const name = root + tag
    if (!scoped.includes(name)) scoped.push(name)
  }
  return scoped
}

/** Checks the shape of a `tags` option: an array of tags (checked in full by `scopeTags`) or a function. */
export function checkTagsOption(tags: unknown): void {
  if (tags === undefined || typeof tags === 'function') return
  if (!Array.isArray(tags))
    throw new InvalidOptionError('[cachekit/core] tags must be an array of strings or a function')
  for (const tag of tags) {
    if (typeof tag !== 'string' || tag === '' || tag.includes(RESERVED)) {
      throw new InvalidOptionError(
        `[cachekit/core] a tag must be a non-empty string without NUL, got ${String(tag)}`,
      )
    }
  }
}
