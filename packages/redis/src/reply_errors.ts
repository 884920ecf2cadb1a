import { CacheError, StoreFailureError, StoreRefusedError } from '@cachekit/core'

/**
 * Error replies that mean the server cannot serve anything right now, whatever the command: a
 * dataset still loading, a script or module holding the server (`BUSY`), a replica cut off from its
 * master, a cluster without quorum or mid-resharding, a connection that is not authenticated. They are
 * failures, like a lost connection: the cache's breaker may open and its fallback serve. The client
 * follows `MOVED` and `ASK` itself; one that reaches us is a failure too.
 */
const UNAVAILABLE = new Set([
  'LOADING',
  'BUSY',
  'MASTERDOWN',
  'CLUSTERDOWN',
  'TRYAGAIN',
  'NOAUTH',
  'WRONGPASS',
  'MOVED',
  'ASK',
])

/** An error reply from the server (ioredis' `ReplyError`), told by name so any copy of ioredis works. */
export function isReplyError(error: unknown): error is Error {
  return error instanceof Error && error.name === 'ReplyError'
}

/**
 * True for an error reply that means "the server is up and said no" to this command: every reply
 * but those in `UNAVAILABLE` (and "max number of clients reached", sent as the connection is
 * refused). Among them: `OOM` (memory full under `maxmemory-policy noeviction`), `READONLY` (a
 * replica), `NOSCRIPT` left after the retry with the script's body, script errors (`ERR ...
 * user_script...`), `WRONGTYPE`, `NOPERM` (ACL), `MISCONF` (writes stopped after a failed save),
 * `NOREPLICAS` (`min-replicas-to-write`), `EXECABORT`, `CROSSSLOT` and other `ERR`s. A refusal says
 * nothing about the server's health: the same server answers the next command.
 */
export function isRefusalReply(error: unknown): error is Error {
  if (!isReplyError(error)) return false
  const message = error.message
  const space = message.indexOf(' ')
  const prefix = space === -1 ? message : message.slice(0, space)
  if (UNAVAILABLE.has(prefix)) return false
  return !(prefix === 'ERR' && message.includes('max number of clients'))
}

/**
 * The server's reply alone: ioredis attaches the command and its arguments to a `ReplyError`, and
 * those are values, lock tokens, or the password of an `AUTH`. None of that belongs in an error that
 * ends up in logs.
 */
export function replyOnly(error: Error): Error {
  const reply = new Error(error.message)
  reply.name = error.name
  const command = (error as { command?: { name?: unknown } }).command?.name
  if (typeof command === 'string')
    Object.defineProperty(reply, 'command', { value: command, enumerable: true })
  return reply
}

/**
 * What a Redis command's failure becomes for the cache: `StoreRefusedError` for a refusal; a
 * `StoreFailureError` whose cause is the connection's own error (`ECONNREFUSED`, `ENOTFOUND`,
 * `WRONGPASS`, with host and port) when the client knows why it is not connected; cachekit errors
 * as they are; anything else unchanged (the cache wraps it).
 */
export function translateRedisError(
  error: unknown,
  store: string,
  operation: string,
  key: string | undefined,
  connectionError: Error | undefined,
): unknown {
  if (CacheError.isInstance(error)) return error
  if (isRefusalReply(error)) return new StoreRefusedError(store, operation, { key, cause: replyOnly(error) })
  if (isReplyError(error)) return new StoreFailureError(store, operation, { key, cause: replyOnly(error) })
  if (connectionError) return new StoreFailureError(store, operation, { key, cause: connectionError })
  return error
}
