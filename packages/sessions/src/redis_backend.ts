import type { Cluster, Redis } from 'ioredis'
import type {
  CreateOptions,
  CreateResult,
  Found,
  Listed,
  PatchResult,
  ReadResult,
  RegenerateResult,
  SessionBackend,
  StoredField,
  TouchResult,
} from './backend.js'
import { COUNTER_SHARDS, counterKey, type SessionKeys } from './keys.js'
import { SCRIPTS, type Script } from './scripts.js'

type Client = Redis | Cluster
type Arg = string | number | Buffer
type Reply = Array<Buffer | number | Reply> | number | Buffer | null

/**
 * Sessions on Redis: each operation is one script on the user's slot (EVALSHA, and EVAL once when
 * the server does not have it: first use, a restart, SCRIPT FLUSH), so standalone, Sentinel and
 * Cluster behave alike. Timeouts and failures are the caller's (sessions.ts) to bound and report.
 */
export class RedisSessionBackend implements SessionBackend {
  readonly name = 'redis'

  constructor(
    private readonly client: Client,
    private readonly prefix: string,
    private readonly closeClient: boolean,
  ) {}

  async create(
    keys: SessionKeys,
    random: string,
    fields: readonly StoredField[],
    options: CreateOptions,
  ): Promise<CreateResult> {
    const reply = (await this.run(
      SCRIPTS.create,
      [keys.session, keys.index],
      [
        random,
        options.ttlMs,
        options.absoluteMs,
        options.maxPerUser,
        options.onLimit,
        keys.base,
        ...flatten(fields),
      ],
    )) as Array<number | Buffer>
    if (reply[0] === -1) return { status: 'limit' }
    return { status: 'ok', expiresAt: Number(reply[0]), evicted: reply.slice(1).map(String) }
  }

  async read(keys: SessionKeys, random: string, slide: boolean, ttlMs: number): Promise<ReadResult> {
    const reply = (await this.run(
      SCRIPTS.read,
      [keys.session, keys.index, keys.tombstone],
      [random, slide ? '1' : '0', ttlMs],
    )) as Buffer[]
    const status = String(reply[0])
    if (status !== 'ok') return { status: status as 'expired' | 'destroyed' | 'missing' }
    return found(reply)
  }

  async patch(
    keys: SessionKeys,
    expectedVersion: number | undefined,
    set: readonly StoredField[],
    remove: readonly string[],
  ): Promise<PatchResult> {
    const reply = (await this.run(
      SCRIPTS.patch,
      [keys.session, keys.tombstone],
      [expectedVersion === undefined ? '' : String(expectedVersion), set.length, ...flatten(set), ...remove],
    )) as Buffer[]
    const status = String(reply[0])
    if (status === 'ok') return found(reply)
    return { status: status as 'conflict' | 'destroyed' | 'missing' }
  }

  async touch(keys: SessionKeys, random: string, ttlMs: number): Promise<TouchResult> {
    const reply = (await this.run(
      SCRIPTS.touch,
      [keys.session, keys.index, keys.tombstone],
      [random, ttlMs],
    )) as Array<Buffer | number>
    const status = String(reply[0])
    if (status === 'ok') return { status: 'ok', expiresAt: Number(reply[1]) }
    return { status: status as 'destroyed' | 'missing' }
  }

  async destroy(base: string, index: string, randoms: readonly string[], ttlMs: number): Promise<string[]> {
    if (randoms.length === 0) return []
    const reply = (await this.run(SCRIPTS.destroy, [index], [base, ttlMs, ...randoms])) as Buffer[]
    return reply.map(String)
  }

  async regenerate(
    from: SessionKeys,
    to: SessionKeys,
    fromRandom: string,
    toRandom: string,
    expectedVersion: number,
    ttlMs: number,
    fields: readonly StoredField[],
  ): Promise<RegenerateResult> {
    const reply = (await this.run(
      SCRIPTS.regenerate,
      [from.session, to.session, from.index, from.tombstone],
      [fromRandom, toRandom, String(expectedVersion), ttlMs, ...flatten(fields)],
    )) as Array<Buffer | number>
    const status = String(reply[0])
    if (status === 'ok') return { status: 'ok', expiresAt: Number(reply[1]) }
    return { status: status as 'conflict' | 'destroyed' | 'missing' }
  }

  async list(base: string, index: string): Promise<Listed[]> {
    const reply = (await this.run(SCRIPTS.list, [index], [base])) as Buffer[]
    const listed: Listed[] = []
    for (let i = 0; i < reply.length; i += 3) {
      listed.push({
        random: String(reply[i]),
        expiresAt: Math.floor(Number(String(reply[i + 1]))),
        meta: reply[i + 2]!,
      })
    }
    return listed
  }

  async count(): Promise<number> {
    // One call per counter, all at once: on a Cluster they sit on different slots, so no pipeline.
    const counts = await Promise.all(
      Array.from({ length: COUNTER_SHARDS }, (_, shard) =>
        this.run(SCRIPTS.count, [counterKey(this.prefix, shard)], []),
      ),
    )
    return counts.reduce<number>((sum, count) => sum + Number(count), 0)
  }

  async counted(keys: SessionKeys, random: string, expiresAt: number | undefined): Promise<void> {
    if (expiresAt === undefined) await this.client.zrem(keys.counter, random)
    else await this.client.zadd(keys.counter, expiresAt, random)
  }

  async close(): Promise<void> {
    if (!this.closeClient || this.client.status === 'end') return
    await this.client.quit().catch(() => this.client.disconnect())
  }

  private async run(script: Script, keys: readonly string[], args: readonly Arg[]): Promise<Reply> {
    try {
      return (await this.client.callBuffer('EVALSHA', [script.sha, keys.length, ...keys, ...args])) as Reply
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error
      return (await this.client.callBuffer('EVAL', [script.body, keys.length, ...keys, ...args])) as Reply
    }
  }
}

/** `['ok', expiresAt, field, value, ...]` as a found session. */
function found(reply: readonly Buffer[]): Found {
  const fields = new Map<string, Uint8Array>()
  for (let i = 2; i < reply.length; i += 2) fields.set(String(reply[i]), reply[i + 1]!)
  const version = Number(String(fields.get('~v') ?? '0'))
  return { status: 'ok', expiresAt: Number(String(reply[1])), version, fields }
}

function flatten(fields: readonly StoredField[]): Arg[] {
  const args: Arg[] = []
  for (const [name, bytes] of fields)
    args.push(name, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
  return args
}
