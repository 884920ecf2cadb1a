import type { SessionIdParts } from './ids.js'

/**
 * Where a session lives. Every key of one user shares the hash tag `{<user tag>}`, so a session, its
 * tombstone and the user's index are in one Redis Cluster slot:
 *
 * ```
 * <prefix>{<tag>}:s:<random>   the session: a hash of encoded fields
 * <prefix>{<tag>}:t:<random>   its tombstone once destroyed, as long as the session could have lived
 * <prefix>{<tag>}:u            the index of the tag's sessions: a sorted set of <random> by expiry (ms)
 * <prefix>{#<n>}:n             one of 16 counters: sorted sets of session ids by expiry, for count()
 * ```
 */
export interface SessionKeys {
  /** `<prefix>{<tag>}:`: the start of every key of the user's slot. */
  readonly base: string
  readonly session: string
  readonly tombstone: string
  readonly index: string
  readonly counter: string
}

/** Counters shared by all sessions; 16 keys spread `count()` over the slots of a Cluster. */
export const COUNTER_SHARDS = 16

export function keysOf(prefix: string, id: SessionIdParts): SessionKeys {
  const base = baseOf(prefix, id.tag)
  return {
    base,
    session: `${base}s:${id.random}`,
    tombstone: `${base}t:${id.random}`,
    index: `${base}u`,
    counter: counterKey(prefix, id.random.charCodeAt(0) % COUNTER_SHARDS),
  }
}

export function baseOf(prefix: string, tag: string): string {
  return `${prefix}{${tag}}:`
}

export function indexKey(prefix: string, tag: string): string {
  return `${baseOf(prefix, tag)}u`
}

export function counterKey(prefix: string, shard: number): string {
  return `${prefix}{#${shard}}:n`
}
