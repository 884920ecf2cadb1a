/**
 * One-shot commands the harness sends to its own servers while it waits for them: a fresh connection
 * per command, no retries, no offline queue, short timeouts, so a dead server answers "no" quickly
 * instead of being retried behind our back.
 */
import { Redis } from 'ioredis'

/** Where a server listens. */
export interface RedisAddress {
  readonly host: string
  readonly port: number
}

/** Options of `redisCommand`. */
export interface ProbeOptions {
  /** Bound for connecting and for the reply, each. Default 1000 ms. */
  timeoutMs?: number
  /** `AUTH` password for the default user. */
  password?: string | undefined
}

/** Sends one command and returns its reply; rejects on a connection failure, a timeout or an error reply. */
export async function redisCommand(
  address: RedisAddress,
  args: readonly [string, ...(string | number)[]],
  options: ProbeOptions = {},
): Promise<unknown> {
  const timeoutMs = options.timeoutMs ?? 1_000
  const client = oneShotClient(
    new Redis({
      host: address.host,
      port: address.port,
      password: options.password,
      ...oneShotOptions(timeoutMs),
    }),
  )
  try {
    await client.connect()
    const [command, ...rest] = args
    return await client.call(command, ...rest)
  } finally {
    client.disconnect()
  }
}

/** True when something at `address` speaks Redis: any reply counts, even NOAUTH or LOADING. */
export async function answersPing(address: RedisAddress, options: ProbeOptions = {}): Promise<boolean> {
  try {
    await redisCommand(address, ['PING'], options)
    return true
  } catch (error) {
    return isReplyError(error)
  }
}

/** `INFO <section>` as a map of its `key:value` lines. */
export async function redisInfo(
  address: RedisAddress,
  section: string,
  options: ProbeOptions = {},
): Promise<Map<string, string>> {
  const reply = await redisCommand(address, ['INFO', section], options)
  return parseFields(String(reply), ':')
}

/** Parses `key<sep>value` lines (INFO, CLUSTER INFO). */
export function parseFields(text: string, separator: string): Map<string, string> {
  const fields = new Map<string, string>()
  for (const line of text.split(/\r?\n/)) {
    const at = line.indexOf(separator)
    if (at > 0 && !line.startsWith('#')) fields.set(line.slice(0, at), line.slice(at + 1).trim())
  }
  return fields
}

/** True for an error reply from the server, as opposed to a connection failure or a timeout. */
export function isReplyError(error: unknown): boolean {
  return error instanceof Error && error.name === 'ReplyError'
}

/** PINGs the server of a `redis://` or `rediss://` URL (with its password, db, TLS). */
export async function pingUrl(url: string, timeoutMs = 2_000): Promise<void> {
  const client = oneShotClient(new Redis(url, oneShotOptions(timeoutMs)))
  try {
    await client.connect()
    await client.ping()
  } finally {
    client.disconnect()
  }
}

/** A client for one probe: connects on demand, never retries, never queues, gives up after `timeoutMs`. */
function oneShotOptions(timeoutMs: number) {
  return {
    lazyConnect: true,
    enableOfflineQueue: false,
    enableReadyCheck: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
  }
}

function oneShotClient(client: Redis): Redis {
  // Connection errors surface through the rejected promises of the probe; without a listener
  // ioredis would also print them as unhandled.
  client.on('error', () => {})
  return client
}
