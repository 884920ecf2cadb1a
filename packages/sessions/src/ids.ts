import { createHash, createHmac, randomBytes } from 'node:crypto'

/**
 * A session id is `<random>.<user tag>`:
 * - `random`: 16 bytes from the CSPRNG (128 bits), base64url, 22 characters. This is the secret.
 * - `user tag`: 12 base64url characters (72 bits) of a hash of the user id. Every session of a user
 *   carries the same tag, and its keys use it as their Redis Cluster hash tag, so a user's sessions
 *   and their index share one slot: `destroyAll` is one atomic script, on a Cluster too, and a
 *   `get` by id needs no lookup first.
 *
 * The tag is not secret. Without `userTagSecret` it is a plain hash, so whoever holds a cookie can
 * test a guessed user id against it; with one it is an HMAC. Changing the secret gives a user's new
 * sessions another slot, and `list`/`destroyAll` no longer see the old ones (they still expire).
 */
const RANDOM_BYTES = 16
const TAG_CHARS = 12
const ID_PATTERN = /^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{12}$/

/** The parts of a well-formed id. */
export interface SessionIdParts {
  readonly random: string
  readonly tag: string
}

/** Makes a user's tag: stable for the user, the same across processes. */
export function userTag(userId: string, prefix: string, secret: string | undefined): string {
  const input = `cachekit-sessions\u0000${prefix}\u0000${userId}`
  const digest =
    secret === undefined
      ? createHash('sha256').update(input).digest()
      : createHmac('sha256', secret).update(input).digest()
  return digest.toString('base64url').slice(0, TAG_CHARS)
}

/** A new id for a session of the user with `tag`. */
export function newSessionId(tag: string): string {
  return `${randomBytes(RANDOM_BYTES).toString('base64url')}.${tag}`
}

/** The parts of `id`, or `undefined` when it is not an id this package made (no Redis call then). */
export function parseSessionId(id: unknown): SessionIdParts | undefined {
  if (typeof id !== 'string' || !ID_PATTERN.test(id)) return undefined
  const dot = id.indexOf('.')
  return { random: id.slice(0, dot), tag: id.slice(dot + 1) }
}
