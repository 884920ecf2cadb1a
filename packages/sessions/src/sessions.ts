import { isDeepStrictEqual } from 'node:util'
import {
  asStoreFailure,
  type CacheError,
  type Codec,
  CodecDecodeError,
  InvalidOptionError,
  StoreFailureError,
  ValueTooLargeError,
  withDeadline,
} from '@cachekit/core'
import { aes256gcm, createCodec, msgpackSerializer } from '@cachekit/serializers'
import type { Found, SessionBackend, StoredField } from './backend.js'
import { describeId, SessionConflictError, SessionLimitError } from './errors.js'
import { type SessionEventName, SessionEvents, type SessionListener } from './events.js'
import { newSessionId, parseSessionId, userTag } from './ids.js'
import { baseOf, indexKey, keysOf, type SessionKeys } from './keys.js'
import { MemorySessionBackend } from './memory_backend.js'
import { type ResolvedSessionsOptions, resolveSessionsOptions, type SessionsOptions } from './options.js'
import { RedisSessionBackend } from './redis_backend.js'

/** Session data: a plain object whose top-level keys are stored (and merged) one by one. */
export type SessionData = Record<string, unknown>

/** Where a request comes from, for `bind` and for `list`. */
export interface RequestContext {
  ip?: string
  userAgent?: string
}

/** A session without its data, as `list` shows it. */
export interface SessionInfo {
  readonly id: string
  readonly userId: string
  /** When it was created, ms since the epoch (the creating host's clock). */
  readonly createdAt: number
  /** When it ends unless used again (with `sliding`), ms since the epoch (Redis' clock). */
  readonly expiresAt: number
  readonly ip: string | undefined
  readonly userAgent: string | undefined
}

/** A session and its data. */
export interface Session<Data extends SessionData = SessionData> extends SessionInfo {
  readonly data: Data
}

/**
 * A change to a session: a patch (its keys are set; a key set to `undefined` is removed; other keys
 * are left as they are, whatever other requests do to them meanwhile), or a function of the current
 * data returning the next (applied with compare-and-set, retried on a concurrent change).
 */
export type SessionUpdate<Data extends SessionData> = Partial<Data> | ((data: Data) => Data | Promise<Data>)

/** The session manager; see `createSessions`. */
export interface Sessions<Data extends SessionData = SessionData> {
  create(userId: string, data: Data, context?: RequestContext): Promise<Session<Data>>
  /** The session, or `undefined`: unknown, expired, destroyed, tampered with, or bound elsewhere. */
  get(id: string, context?: RequestContext): Promise<Session<Data> | undefined>
  /** The session after the change, or `undefined` when there is none (the write is refused, `refused`). */
  update(id: string, change: SessionUpdate<Data>): Promise<Session<Data> | undefined>
  /** Extends the session to `ttl` from now (never past `absoluteTimeout`); false when there is none. */
  touch(id: string): Promise<boolean>
  /** Ends the session for good: a slower request can no longer write it back. False when there was none. */
  destroy(id: string): Promise<boolean>
  /** The same session under a new id, the old id ended (after a login or a privilege change). */
  regenerate(id: string): Promise<Session<Data> | undefined>
  /** The user's live sessions, soonest to expire first. */
  list(userId: string): Promise<SessionInfo[]>
  /** Ends every session of the user; resolves with how many there were. */
  destroyAll(userId: string): Promise<number>
  /** Live sessions in the whole store, without scanning it. */
  count(): Promise<number>
  on<E extends SessionEventName>(event: E, listener: SessionListener<E>): () => void
  close(): Promise<void>
}

interface Meta {
  u: string
  c: number
  ip?: string
  ua?: string
}

const META = '~m'
const DATA_PREFIX = 'd:'

/**
 * Creates a session manager on Redis (`client`) or in memory (`memory: true`).
 *
 * @example
 * const sessions = createSessions({ client: createRedis(), ttl: '1d', sliding: true })
 * const session = await sessions.create('user-42', { role: 'reader' }, { ip: req.ip })
 * await sessions.update(session.id, { cart: ['sku-1'] })
 */
export function createSessions<Data extends SessionData = SessionData>(
  options: SessionsOptions,
): Sessions<Data> {
  const resolved = resolveSessionsOptions(options)
  const backend = resolved.client
    ? new RedisSessionBackend(resolved.client, resolved.prefix, resolved.closeClient)
    : new MemorySessionBackend()
  return new SessionManager<Data>(resolved, backend)
}

class SessionManager<Data extends SessionData> implements Sessions<Data> {
  private readonly events = new SessionEvents()
  private readonly codec: Codec
  private closed = false

  constructor(
    private readonly options: ResolvedSessionsOptions,
    private readonly backend: SessionBackend,
  ) {
    const { encryption } = options
    this.codec = createCodec({
      serializer: msgpackSerializer(),
      transforms: encryption ? [aes256gcm(encryption)] : [],
    })
  }

  on<E extends SessionEventName>(event: E, listener: SessionListener<E>): () => void {
    return this.events.on(event, listener)
  }

  async create(userId: string, data: Data, context: RequestContext = {}): Promise<Session<Data>> {
    this.assertOpen()
    checkUserId(userId)
    checkData(data)
    const tag = userTag(userId, this.options.prefix, this.options.userTagSecret)
    const id = newSessionId(tag)
    const parts = parseSessionId(id)!
    const keys = keysOf(this.options.prefix, parts)
    const meta: Meta = { u: userId, c: Date.now(), ...bound(context) }
    const fields = this.encodeAll(keys, meta, data)
    const { ttlMs, absoluteMs, maxPerUser, onLimit } = this.options
    const result = await this.call(
      'create',
      this.backend.create(keys, parts.random, fields, { ttlMs, absoluteMs, maxPerUser, onLimit }),
    )
    if (result.status === 'limit') throw new SessionLimitError(maxPerUser)
    const counts = [this.keepCount(keys, parts.random, result.expiresAt)]
    for (const random of result.evicted) {
      counts.push(this.keepCount(keysOf(this.options.prefix, { random, tag }), random, undefined))
      this.events.emit('destroyed', { id: describeId(`${random}.${tag}`), reason: 'evicted' })
    }
    await Promise.all(counts)
    this.events.emit('created', { id: describeId(id) })
    return sessionOf(id, meta, result.expiresAt, data)
  }

  async get(id: string, context: RequestContext = {}): Promise<Session<Data> | undefined> {
    this.assertOpen()
    const parts = parseSessionId(id)
    if (!parts) return undefined
    const keys = keysOf(this.options.prefix, parts)
    const read = await this.call(
      'get',
      this.backend.read(keys, parts.random, this.options.sliding, this.options.ttlMs),
    )
    if (read.status === 'expired') this.events.emit('expired', { id: describeId(id) })
    if (read.status !== 'ok') return undefined
    const session = this.decode(id, keys, read)
    if (!session || !this.boundTo(id, session, context)) return undefined
    if (this.options.sliding) void this.keepCount(keys, parts.random, read.expiresAt)
    return session
  }

  async update(id: string, change: SessionUpdate<Data>): Promise<Session<Data> | undefined> {
    this.assertOpen()
    const parts = parseSessionId(id)
    if (!parts) return undefined
    const keys = keysOf(this.options.prefix, parts)
    if (typeof change === 'function') return this.updateWith(id, parts.random, keys, change)
    if (typeof change !== 'object' || change === null || Array.isArray(change)) {
      throw new InvalidOptionError(
        '[cachekit/sessions] update takes a patch object or a function of the data',
      )
    }
    const set: StoredField[] = []
    const remove: string[] = []
    for (const [name, value] of Object.entries(change)) {
      if (value === undefined) remove.push(DATA_PREFIX + name)
      else set.push(this.encodeField(keys, DATA_PREFIX + name, value))
    }
    this.checkSize(set)
    const result = await this.call('update', this.backend.patch(keys, undefined, set, remove))
    return this.written(id, keys, result, 'update')
  }

  async touch(id: string): Promise<boolean> {
    this.assertOpen()
    const parts = parseSessionId(id)
    if (!parts) return false
    const keys = keysOf(this.options.prefix, parts)
    const result = await this.call('touch', this.backend.touch(keys, parts.random, this.options.ttlMs))
    if (result.status !== 'ok') {
      this.events.emit('refused', { id: describeId(id), operation: 'touch', reason: result.status })
      return false
    }
    void this.keepCount(keys, parts.random, result.expiresAt)
    return true
  }

  async destroy(id: string): Promise<boolean> {
    this.assertOpen()
    const parts = parseSessionId(id)
    if (!parts) return false
    return (await this.destroyMany(parts.tag, [parts.random], 'destroy')) === 1
  }

  async regenerate(id: string): Promise<Session<Data> | undefined> {
    this.assertOpen()
    const parts = parseSessionId(id)
    if (!parts) return undefined
    const from = keysOf(this.options.prefix, parts)
    for (let attempt = 1; ; attempt++) {
      const read = await this.call(
        'regenerate',
        this.backend.read(from, parts.random, false, this.options.ttlMs),
      )
      if (read.status !== 'ok') {
        const reason = read.status === 'destroyed' ? 'destroyed' : 'missing'
        this.events.emit('refused', { id: describeId(id), operation: 'regenerate', reason })
        return undefined
      }
      const session = this.decode(id, from, read)
      if (!session) return undefined
      const nextId = newSessionId(parts.tag)
      const next = parseSessionId(nextId)!
      const to = keysOf(this.options.prefix, next)
      const meta: Meta = { u: session.userId, c: session.createdAt, ...metaContext(session) }
      const result = await this.call(
        'regenerate',
        this.backend.regenerate(
          from,
          to,
          parts.random,
          next.random,
          read.version,
          this.options.ttlMs,
          this.encodeAll(to, meta, session.data),
        ),
      )
      if (result.status === 'ok') {
        await Promise.all([
          this.keepCount(from, parts.random, undefined),
          this.keepCount(to, next.random, result.expiresAt),
        ])
        this.events.emit('destroyed', { id: describeId(id), reason: 'regenerated' })
        this.events.emit('created', { id: describeId(nextId) })
        return { ...session, id: nextId, expiresAt: result.expiresAt }
      }
      if (result.status !== 'conflict') {
        this.events.emit('refused', { id: describeId(id), operation: 'regenerate', reason: result.status })
        return undefined
      }
      if (attempt > this.options.maxRetries) return this.conflict(id, attempt)
      await backoff(attempt)
    }
  }

  async list(userId: string): Promise<SessionInfo[]> {
    this.assertOpen()
    checkUserId(userId)
    const tag = this.tagOf(userId)
    const base = baseOf(this.options.prefix, tag)
    const listed = await this.call('list', this.backend.list(base, indexKey(this.options.prefix, tag)))
    const infos: SessionInfo[] = []
    for (const { random, expiresAt, meta } of listed) {
      const id = `${random}.${tag}`
      const keys = keysOf(this.options.prefix, { random, tag })
      const decoded = this.decodeMeta(id, keys, meta)
      // Another user whose tag is the same (a 72-bit collision) shares the index, never the sessions.
      if (decoded && decoded.u === userId) infos.push(infoOf(id, decoded, expiresAt))
    }
    return infos
  }

  async destroyAll(userId: string): Promise<number> {
    const sessions = await this.list(userId)
    const tag = this.tagOf(userId)
    return this.destroyMany(
      tag,
      sessions.map((session) => parseSessionId(session.id)!.random),
      'destroyAll',
    )
  }

  async count(): Promise<number> {
    this.assertOpen()
    return this.call('count', this.backend.count())
  }

  /**
   * Keeps the store-wide count in step: its keys are not in the user's slot (so not in the script),
   * and a failure here must not fail the call, so it is reported, not thrown. A missed update heals
   * itself: entries are scored by expiry and `count` drops expired ones. Creates and destroys wait
   * for it, so a `count()` after them sees them; a sliding `get` does not.
   */
  private keepCount(keys: SessionKeys, random: string, expiresAt: number | undefined): Promise<void> {
    return this.call('count', this.backend.counted(keys, random, expiresAt)).catch((error: unknown) => {
      this.events.emit('error', {
        operation: 'count',
        error: asStoreFailure(error, this.backend.name, 'count'),
      })
    })
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.backend.close()
  }

  private async updateWith(
    id: string,
    random: string,
    keys: SessionKeys,
    change: (data: Data) => Data | Promise<Data>,
  ): Promise<Session<Data> | undefined> {
    for (let attempt = 1; ; attempt++) {
      const read = await this.call('update', this.backend.read(keys, random, false, this.options.ttlMs))
      if (read.status !== 'ok') {
        const reason = read.status === 'destroyed' ? 'destroyed' : 'missing'
        this.events.emit('refused', { id: describeId(id), operation: 'update', reason })
        return undefined
      }
      const session = this.decode(id, keys, read)
      if (!session) return undefined
      const next = await change(structuredClone(session.data))
      checkData(next)
      const set: StoredField[] = []
      const remove: string[] = []
      for (const [name, value] of Object.entries(next)) {
        if (value === undefined) continue
        if (!isDeepStrictEqual(value, session.data[name]))
          set.push(this.encodeField(keys, DATA_PREFIX + name, value))
      }
      for (const name of Object.keys(session.data)) {
        if (next[name] === undefined) remove.push(DATA_PREFIX + name)
      }
      this.checkSize(set)
      const result = await this.call('update', this.backend.patch(keys, read.version, set, remove))
      if (result.status !== 'conflict') return this.written(id, keys, result, 'update')
      if (attempt > this.options.maxRetries) return this.conflict(id, attempt)
      await backoff(attempt)
    }
  }

  private written(
    id: string,
    keys: SessionKeys,
    result: Awaited<ReturnType<SessionBackend['patch']>>,
    operation: 'update',
  ): Session<Data> | undefined {
    if (result.status === 'ok') return this.decode(id, keys, result)
    if (result.status === 'conflict') return undefined
    this.events.emit('refused', { id: describeId(id), operation, reason: result.status })
    return undefined
  }

  private conflict(id: string, attempts: number): never {
    this.events.emit('conflict', { id: describeId(id), attempts })
    throw new SessionConflictError(id, attempts)
  }

  private async destroyMany(
    tag: string,
    randoms: readonly string[],
    reason: 'destroy' | 'destroyAll',
  ): Promise<number> {
    const base = baseOf(this.options.prefix, tag)
    const destroyed = await this.call(
      'destroy',
      this.backend.destroy(base, indexKey(this.options.prefix, tag), randoms, this.options.ttlMs),
    )
    await Promise.all(
      destroyed.map((random) =>
        this.keepCount(keysOf(this.options.prefix, { random, tag }), random, undefined),
      ),
    )
    for (const random of destroyed)
      this.events.emit('destroyed', { id: describeId(`${random}.${tag}`), reason })
    return destroyed.length
  }

  private tagOf(userId: string): string {
    return userTag(userId, this.options.prefix, this.options.userTagSecret)
  }

  private boundTo(id: string, session: Session<Data>, context: RequestContext): boolean {
    if (this.options.bindIp && session.ip !== context.ip) {
      this.events.emit('bind-mismatch', { id: describeId(id), binding: 'ip' })
      return false
    }
    if (this.options.bindUserAgent && session.userAgent !== context.userAgent) {
      this.events.emit('bind-mismatch', { id: describeId(id), binding: 'userAgent' })
      return false
    }
    return true
  }

  private encodeAll(keys: SessionKeys, meta: Meta, data: SessionData): StoredField[] {
    const fields: StoredField[] = [this.encodeField(keys, META, meta)]
    for (const [name, value] of Object.entries(data)) {
      if (value !== undefined) fields.push(this.encodeField(keys, DATA_PREFIX + name, value))
    }
    this.checkSize(fields)
    return fields
  }

  /** Each field is bound to its session's key and its own name: moved elsewhere, it does not decode. */
  private encodeField(keys: SessionKeys, name: string, value: unknown): StoredField {
    return [name, this.codec.encode(value, { additionalData: [keys.session, name] })]
  }

  private checkSize(fields: readonly StoredField[]): void {
    let size = 0
    for (const [name, bytes] of fields) size += name.length + bytes.length
    if (size > this.options.maxBytes) {
      throw new ValueTooLargeError(
        size,
        this.options.maxBytes,
        `[cachekit/sessions] the session data is ${size} bytes encoded, above maxBytes ${this.options.maxBytes}`,
      )
    }
  }

  /** The session in `found`, or `undefined` (and a `tamper` event) when any stored byte is wrong. */
  private decode(id: string, keys: SessionKeys, found: Found): Session<Data> | undefined {
    const metaBytes = found.fields.get(META)
    const meta = metaBytes && this.decodeMeta(id, keys, metaBytes)
    if (!meta) {
      if (!metaBytes)
        this.tampered(id, new CodecDecodeError('[cachekit/sessions] the session has no metadata'))
      return undefined
    }
    const data: SessionData = {}
    try {
      for (const [name, bytes] of found.fields) {
        if (!name.startsWith(DATA_PREFIX)) continue
        data[name.slice(DATA_PREFIX.length)] = this.codec.decode(bytes, {
          additionalData: [keys.session, name],
        })
      }
    } catch (error) {
      this.tampered(id, asStoreFailure(error, this.backend.name, 'decode'))
      return undefined
    }
    return sessionOf(id, meta, found.expiresAt, data as Data)
  }

  private decodeMeta(id: string, keys: SessionKeys, bytes: Uint8Array): Meta | undefined {
    try {
      const meta = this.codec.decode(bytes, { additionalData: [keys.session, META] }) as Meta
      if (
        typeof meta !== 'object' ||
        meta === null ||
        typeof meta.u !== 'string' ||
        typeof meta.c !== 'number'
      ) {
        throw new CodecDecodeError('[cachekit/sessions] the session metadata is malformed')
      }
      return meta
    } catch (error) {
      this.tampered(id, asStoreFailure(error, this.backend.name, 'decode'))
      return undefined
    }
  }

  private tampered(id: string, error: CacheError): void {
    this.events.emit('tamper', { id: describeId(id), error })
  }

  /** Bounds a backend call by `timeout` and types its failures (`E_STORE_FAILURE`). */
  private call<T>(operation: string, pending: Promise<T>): Promise<T> {
    return withDeadline(pending, this.options.timeoutMs, this.backend.name, operation)
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreFailureError(this.backend.name, 'call', { cause: new Error('closed') })
  }
}

function sessionOf<Data extends SessionData>(
  id: string,
  meta: Meta,
  expiresAt: number,
  data: Data,
): Session<Data> {
  return { ...infoOf(id, meta, expiresAt), data }
}

function infoOf(id: string, meta: Meta, expiresAt: number): SessionInfo {
  return { id, userId: meta.u, createdAt: meta.c, expiresAt, ip: meta.ip, userAgent: meta.ua }
}

function bound(context: RequestContext): Pick<Meta, 'ip' | 'ua'> {
  const meta: Pick<Meta, 'ip' | 'ua'> = {}
  if (typeof context.ip === 'string') meta.ip = context.ip
  if (typeof context.userAgent === 'string') meta.ua = context.userAgent
  return meta
}

function metaContext(session: SessionInfo): Pick<Meta, 'ip' | 'ua'> {
  return bound({ ip: session.ip, userAgent: session.userAgent })
}

function checkUserId(userId: unknown): asserts userId is string {
  if (typeof userId !== 'string' || userId === '') {
    throw new InvalidOptionError('[cachekit/sessions] a user id must be a non-empty string')
  }
}

function checkData(data: unknown): asserts data is SessionData {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new InvalidOptionError('[cachekit/sessions] session data must be a plain object')
  }
}

/** A few ms, growing with the attempt and jittered, so racing writers stop colliding in step. */
function backoff(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.random() * 2 * attempt))
}
