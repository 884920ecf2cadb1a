import {
  asStoreFailure,
  type Duration,
  InvalidOptionError,
  parseDuration,
  withDeadline,
} from '@cachekit/core'
import { type SessionData, Store } from 'express-session'
import type { Cluster, Redis } from 'ioredis'
import { StoreBatch } from './store_batch.js'
import { TickPipeline } from './tick_pipeline.js'

/** How session properties become strings and back; `JSON` by default, as in connect-redis. */
export interface Serializer {
  parse(text: string): unknown | Promise<unknown>
  stringify(value: unknown): string
}

/** The options of connect-redis v8, plus `timeout`. */
export interface RedisStoreOptions {
  /** An ioredis client or Cluster (e.g. from `createRedis`). */
  client: Redis | Cluster
  /** Start of every session key. Default `'sess:'`. */
  prefix?: string
  /**
   * Seconds a session lives when its cookie has no `expires`, or a function of the session that
   * decides for every session (it wins over the cookie). Default 86400 (one day).
   */
  ttl?: number | ((session: SessionData) => number)
  /** Make `touch` do nothing (the TTL then only moves on a save). Default false. */
  disableTouch?: boolean
  /** Keep sessions without an expiry. Default false. */
  disableTTL?: boolean
  /** How each top-level session property is stored. Default `JSON`. */
  serializer?: Serializer
  /** Keys per SCAN step in `ids`, `all`, `length` and `clear`. Default 100. */
  scanCount?: number
  /** The longest any call waits on Redis; then it fails instead of hanging the request. Default `'1s'`. */
  timeout?: Duration
}

type Callback<T> = (error?: unknown, result?: T) => void
type Session = SessionData & { [BASE]?: ReadBase }

/**
 * What a request read, carried in the session object itself (express-session and @fastify/session
 * copy a loaded session's properties into theirs): each property's stored text as it was, so a
 * save writes only what this request changed and deletes only what it removed. The texts are the
 * strings Redis returned, kept by reference (no copy, no hash); `toJSON` hides them from
 * JSON.stringify, which express-session runs over the session to tell whether it changed.
 */
const BASE = 'cachekit:base'

class ReadBase {
  constructor(readonly texts: Readonly<Record<string, string>>) {}

  toJSON(): undefined {
    return undefined
  }
}

/**
 * A store for express-session and @fastify/session, on ioredis, that takes connect-redis v8's
 * options: `import { RedisStore } from '@cachekit/sessions/store'` in place of
 * `import { RedisStore } from 'connect-redis'`.
 *
 * What it does that connect-redis does not:
 * - **A logout stays a logout.** `destroy` leaves a tombstone in the session's own key for as long as
 *   the session could still have lived; a slower request's `set` after it changes nothing (the key
 *   reads as no session) and is reported (a `refused` event).
 * - **Concurrent requests do not erase each other's changes.** A session is a Redis hash of its
 *   top-level properties; `set` writes the properties this request changed and deletes those it
 *   removed, so two requests changing different properties both land (the same property: the last
 *   save wins).
 * - **No hang while Redis is down.** It emits `disconnect` and `connect` as the client's connection
 *   drops and comes back (express-session then serves requests without a session instead of
 *   waiting), and every call fails after `timeout`.
 *
 * Methods take a callback or return a promise.
 */
export class RedisStore extends Store {
  readonly client: Redis | Cluster
  readonly prefix: string
  readonly ttl: number | ((session: SessionData) => number)
  readonly disableTouch: boolean
  readonly disableTTL: boolean
  readonly serializer: Serializer
  readonly scanCount: number
  private readonly timeoutMs: number
  private readonly pipeline: TickPipeline
  private readonly batch: StoreBatch
  /** The client's connection as last heard: `get` answers "no session" at once while it is down. */
  private connected: boolean

  constructor(options: RedisStoreOptions) {
    super()
    if (typeof options !== 'object' || options === null || !options.client) {
      throw new InvalidOptionError(
        '[cachekit/sessions] RedisStore needs { client }: an ioredis client or Cluster',
      )
    }
    this.client = options.client
    this.prefix = options.prefix == null ? 'sess:' : options.prefix
    // As connect-redis: `ttl: 0` means the default, not "expire at once".
    this.ttl = options.ttl || 86400
    this.disableTouch = options.disableTouch === true
    this.disableTTL = options.disableTTL === true
    this.serializer = options.serializer ?? JSON
    this.scanCount = options.scanCount ?? 100
    this.timeoutMs = parseDuration(options.timeout ?? '1s')
    this.pipeline = new TickPipeline(this.client, this.timeoutMs)
    this.batch = new StoreBatch(this.client, this.timeoutMs, TOMBSTONE)
    this.connected = this.client.status === 'ready'
    this.followConnection()
  }

  override get(sid: string, callback?: Callback<SessionData | null>): Promise<SessionData | null> {
    return settle(this.read(sid), callback)
  }

  override set(sid: string, session: SessionData, callback?: Callback<void>): Promise<void> {
    return settle(this.write(sid, session), callback)
  }

  override touch(sid: string, session: SessionData, callback?: Callback<void>): Promise<void> {
    return settle(this.extendTtl(sid, session), callback)
  }

  override destroy(sid: string, callback?: Callback<void>): Promise<void> {
    return settle(this.end(sid), callback)
  }

  override clear(callback?: Callback<void>): Promise<void> {
    return settle(this.endAll(), callback)
  }

  override length(callback?: Callback<number>): Promise<number> {
    return settle(
      this.keys().then((keys) => keys.length),
      callback,
    )
  }

  ids(callback?: Callback<string[]>): Promise<string[]> {
    return settle(
      this.keys().then((keys) => keys.map((key) => key.slice(this.prefix.length))),
      callback,
    )
  }

  override all(
    callback?: Callback<Array<SessionData & { id: string }>>,
  ): Promise<Array<SessionData & { id: string }>> {
    return settle(this.readAll(), callback)
  }

  private async read(sid: string): Promise<SessionData | null> {
    // @fastify/session has no disconnected state of its own: with Redis down its requests go on
    // without a session (a fresh one), as express-session's do, instead of failing or waiting.
    if (!this.connected) return null
    const reply = await this.batch.run<string[]>({ kind: 'get', key: this.key(sid) })
    if (reply.length === 0 || isTombstone(reply)) return null
    const session: Record<string, unknown> = {}
    const texts: Record<string, string> = {}
    for (let i = 0; i < reply.length; i += 2) {
      const name = reply[i]!
      const text = reply[i + 1]!
      try {
        // A custom serializer may answer a promise; JSON answers at once, and a field need not wait.
        const parsed = this.serializer.parse(text)
        session[name] = parsed instanceof Promise ? await parsed : parsed
      } catch (error) {
        // Bytes that do not parse are no session (and an event), not a failed request.
        this.emit('tamper', { sid, field: name, error })
        return null
      }
      texts[name] = text
    }
    session[BASE] = new ReadBase(texts)
    return session as unknown as SessionData
  }

  private async write(sid: string, input: SessionData): Promise<void> {
    const { [BASE]: base, ...session } = input as Session
    const ttl = this.ttlOf(session)
    if (ttl <= 0) {
      // An expiry in the past: as connect-redis, the session goes.
      await this.end(sid)
      return
    }
    const set: string[] = []
    const seen = new Set<string>()
    for (const [name, value] of Object.entries(session)) {
      if (value === undefined) continue
      const text = this.serializer.stringify(value)
      seen.add(name)
      if (base?.texts[name] !== text) set.push(name, text)
    }
    // A property this request read and no longer has was removed by it; any other stays.
    const removed = base ? Object.keys(base.texts).filter((name) => !seen.has(name)) : []
    // No check first: a destroyed session's key holds its tombstone field, which a later write
    // leaves in place, so the session stays gone whatever arrives after (see `end`). The script
    // answers whether that happened, for the event.
    const tombstoned = await this.batch.run<number>({
      kind: 'set',
      key: this.key(sid),
      ttl: this.disableTTL ? -1 : ttl,
      set,
      removed,
    })
    if (tombstoned === 1) this.emit('refused', { sid, operation: 'set', reason: 'destroyed' })
  }

  private async extendTtl(sid: string, session: SessionData): Promise<void> {
    if (this.disableTouch || this.disableTTL) return
    const ttl = this.ttlOf(session)
    if (ttl <= 0) return
    await this.batch.run({ kind: 'touch', key: this.key(sid), ttl })
  }

  /**
   * Ends a session for good: its fields go and a tombstone field takes their place, in the same key,
   * for as long as the session could still have lived. A slower request's save lands next to the
   * tombstone and changes nothing: a key holding one reads as no session.
   */
  private async end(sid: string): Promise<void> {
    const lifeSeconds = typeof this.ttl === 'number' ? this.ttl : 86400
    await this.batch.run({ kind: 'destroy', key: this.key(sid), lifeSeconds })
  }

  private async endAll(): Promise<void> {
    const keys = await this.keys()
    // UNLINK key by key: on a Cluster the keys sit on many slots, and one call may not cross them.
    for (let i = 0; i < keys.length; i += this.scanCount) {
      await Promise.all(keys.slice(i, i + this.scanCount).map((key) => this.send('clear', 'UNLINK', [key])))
    }
  }

  private async readAll(): Promise<Array<SessionData & { id: string }>> {
    const ids = await this.ids()
    const sessions = await Promise.all(ids.map((id) => this.read(id)))
    const all: Array<SessionData & { id: string }> = []
    for (const [i, session] of sessions.entries()) {
      if (!session) continue
      const { [BASE]: _base, ...rest } = session as Session
      all.push({ id: ids[i]!, ...rest } as SessionData & { id: string })
    }
    return all
  }

  /** Every session key, by SCAN on every master (tombstones excluded). */
  private async keys(): Promise<string[]> {
    const nodes = isCluster(this.client) ? this.client.nodes('master') : [this.client]
    const pattern = `${escapeGlob(this.prefix)}*`
    const keys = new Set<string>()
    await this.call(
      'scan',
      Promise.all(
        nodes.map(async (node) => {
          for await (const batch of node.scanStream({ match: pattern, count: this.scanCount })) {
            for (const key of batch as string[]) keys.add(key)
          }
        }),
      ),
    )
    // Destroyed sessions are keys too, until their tombstone expires: leave them out.
    const found = [...keys]
    const dead = await Promise.all(found.map((key) => this.send<number>('scan', 'HEXISTS', [key, TOMBSTONE])))
    return found.filter((_, index) => dead[index] !== 1)
  }

  /** The TTL in seconds of a save: the `ttl` function, else the cookie's expiry, else `ttl`. */
  private ttlOf(session: SessionData): number {
    if (typeof this.ttl === 'function') return this.ttl(session)
    const expires = session.cookie?.expires
    if (expires) return Math.ceil((new Date(expires).getTime() - Date.now()) / 1000)
    return this.ttl
  }

  private key(sid: string): string {
    return this.prefix + sid
  }

  /** One command, in this tick's pipeline; its failures typed (`E_STORE_FAILURE`). */
  private async send<T>(operation: string, command: string, args: Array<string | number>): Promise<T> {
    try {
      return await this.pipeline.send<T>(operation, command, args)
    } catch (error) {
      throw asStoreFailure(error, 'redis', operation)
    }
  }

  /** Bounds a command by `timeout` and types its failure (`E_STORE_FAILURE`). */
  private call<T>(operation: string, pending: Promise<T>): Promise<T> {
    return withDeadline(pending, this.timeoutMs, 'redis', operation)
  }

  /**
   * express-session listens for `disconnect` and `connect` on its store and, in between, serves
   * requests without a session instead of waiting on one (connect-redis stopped emitting them in v4).
   */
  private followConnection(): void {
    let announced = this.connected
    const up = () => {
      this.connected = true
      if (announced) return
      announced = true
      this.emit('connect')
    }
    const down = () => {
      this.connected = false
      if (!announced) return
      announced = false
      this.emit('disconnect')
    }
    this.client.on('ready', up)
    this.client.on('close', down)
    this.client.on('end', down)
    // Not ready yet: say so once express-session has had the chance to listen (it does so in the
    // same tick as it is given the store), so that its first requests do not wait either.
    if (!announced) {
      announced = true
      setImmediate(() => {
        if (this.client.status !== 'ready') down()
      })
    }
  }
}

/**
 * The field that marks a destroyed session. Session properties are the hash's fields, and no
 * property express-session or @fastify/session write starts with `~`.
 */
const TOMBSTONE = '~destroyed'

function isTombstone(reply: readonly string[]): boolean {
  for (let i = 0; i < reply.length; i += 2) if (reply[i] === TOMBSTONE) return true
  return false
}

function isCluster(client: Redis | Cluster): client is Cluster {
  return (client as Cluster).isCluster === true
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&')
}

/** Calls back when given a callback (never rejecting then), else returns the promise. */
function settle<T>(pending: Promise<T>, callback: Callback<T> | undefined): Promise<T> {
  if (!callback) return pending
  pending.then(
    (value) => callback(undefined, value),
    (error: unknown) => callback(error),
  )
  return pending.catch(() => undefined as T)
}
