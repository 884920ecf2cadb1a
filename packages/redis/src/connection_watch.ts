import type { Cluster, Redis } from 'ioredis'
import { RedisConnectionError } from './errors.js'
import { replyOnly } from './reply_errors.js'
import { isCluster } from './slot_groups.js'

/**
 * Remembers why a client is not connected, from its `error` events (and a cluster's `node error`
 * events), until it is `ready` again. A command that fails or times out while the client is away says
 * only "Connection is closed" or "did not answer within 1000 ms"; with this, the error a cache emits
 * names the real cause (`connect ECONNREFUSED 127.0.0.1:6380`, `getaddrinfo ENOTFOUND ...`,
 * `WRONGPASS ...`) and the address.
 *
 * Listening to `error` also means ioredis no longer prints unhandled connection errors of a client
 * it was given; they reach the cache's `error` events instead, with more to say.
 */
export class ConnectionWatch {
  private last: RedisConnectionError | undefined
  private readonly cluster: boolean

  constructor(private readonly client: Redis | Cluster) {
    this.cluster = isCluster(client)
    client.on('error', this.onError)
    client.on('ready', this.onReady)
    client.on('close', this.onClose)
    if (this.cluster) client.on('node error', this.onNodeError)
  }

  /** Why the client is not connected, or `undefined` while it is ready. */
  get error(): RedisConnectionError | undefined {
    return this.client.status === 'ready' ? undefined : this.last
  }

  stop(): void {
    this.client.off('error', this.onError)
    this.client.off('ready', this.onReady)
    this.client.off('close', this.onClose)
    if (this.cluster) this.client.off('node error', this.onNodeError)
  }

  private readonly onError = (error: unknown): void => {
    // A cluster's "Failed to refresh slots cache" says less than the node error that came before it.
    const nodeError = (error as { lastNodeError?: unknown }).lastNodeError
    if (this.cluster && this.last && nodeError !== undefined) return
    this.last = describe(error, this.addressOf(error))
  }

  private readonly onNodeError = (error: unknown, address: unknown): void => {
    this.last = describe(error, typeof address === 'string' ? address : this.addressOf(error))
  }

  private readonly onReady = (): void => {
    this.last = undefined
  }

  private readonly onClose = (): void => {
    this.last ??= new RedisConnectionError(this.addressOf(undefined), undefined, 'the connection was lost')
  }

  /** The address the user configured (a standalone client), else the one the error names. */
  private addressOf(error: unknown): string | undefined {
    if (!this.cluster) {
      const options = (this.client as Redis).options
      if (!options.sentinels && options.host !== undefined) return `${options.host}:${options.port ?? 6379}`
    }
    const fields = (error ?? {}) as { address?: unknown; port?: unknown; hostname?: unknown }
    if (typeof fields.address === 'string' && typeof fields.port === 'number') {
      return `${fields.address}:${fields.port}`
    }
    return typeof fields.hostname === 'string' ? fields.hostname : undefined
  }
}

function describe(error: unknown, address: string | undefined): RedisConnectionError {
  if (!(error instanceof Error)) return new RedisConnectionError(address, undefined, String(error))
  if (error.name === 'ReplyError') {
    // The command of an AUTH reply carries the password: only the reply is kept.
    const reply = replyOnly(error)
    return new RedisConnectionError(address, firstWord(error.message), error.message, reply)
  }
  const code = (error as { code?: unknown }).code
  const reason = typeof code === 'string' ? code : undefined
  // "Ready check failed: NOAUTH Authentication required." and the like name the reply inside.
  const inner = /\b(NOAUTH|WRONGPASS|NOPERM)\b/.exec(error.message)?.[1]
  const detail =
    reason === undefined || error.message.includes(reason) ? error.message : `${error.message} (${reason})`
  return new RedisConnectionError(address, reason ?? inner, detail, withoutSecrets(error))
}

/** System errors (ECONNREFUSED, ...) hold no secrets; anything else is copied down to its message. */
function withoutSecrets(error: Error): Error {
  if ((error as { syscall?: unknown }).syscall !== undefined) return error
  const copy = new Error(error.message)
  copy.name = error.name
  return copy
}

function firstWord(message: string): string {
  const space = message.indexOf(' ')
  return space === -1 ? message : message.slice(0, space)
}
