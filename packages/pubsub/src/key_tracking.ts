import { BusFailureError, type CacheError, InvalidOptionError } from '@cachekit/core'
import type { Cluster, Redis } from 'ioredis'
import { connectionName, isCluster, openStandaloneSubscriber } from './subscriber_connections.js'

/** Where Redis (RESP2) sends client-side tracking invalidations for a REDIRECT target. */
const INVALIDATE_CHANNEL = '__redis__:invalidate'
const RETRY_MS = 250

/**
 * Redis client-side tracking in broadcasting mode, for the L1 of a cache: Redis tells us about every
 * write to a key under `prefix`, whoever made it (another app, `redis-cli`), except writes made on
 * `client`'s own connection (NOLOOP; the cache announces those on the bus itself).
 *
 * RESP2 delivers invalidations as pub/sub messages to a REDIRECT connection, so this opens one,
 * subscribes it to `__redis__:invalidate`, and turns tracking on for `client`'s connection with
 * `REDIRECT <its id> BCAST PREFIX <prefix> NOLOOP`. Either connection can drop: the tracking
 * connection comes back with a new id and the client's connection comes back without tracking, so
 * tracking is turned on again after each `ready`, and the listener hears `null` ("anything may have
 * changed meanwhile").
 *
 * Standalone and Sentinel only: on a Cluster each node tracks its own keys, over its own connection.
 */
export async function trackKeys(
  client: Redis | Cluster,
  prefix: string,
  instanceId: string,
  listener: (keys: string[] | null) => void,
  report: (error: CacheError) => void,
): Promise<() => Promise<void>> {
  if (isCluster(client)) {
    throw new InvalidOptionError(
      '[cachekit/pubsub] key tracking needs a standalone or Sentinel Redis, not a Cluster',
    )
  }
  const trackerName = connectionName('tracking', instanceId)
  const tracker = openStandaloneSubscriber(client, trackerName)
  let stopped = false
  let retry: NodeJS.Timeout | undefined
  // The tracking connection's id that tracking is on with, on the client's current connection.
  let enabledWith: string | undefined
  // Set when either connection dropped: whatever was written meanwhile went unreported.
  let missedWrites = false

  const enable = async (): Promise<void> => {
    if (stopped || tracker.status !== 'ready' || client.status !== 'ready') return
    try {
      const trackerId = await connectionId(client, trackerName)
      if (trackerId === undefined) throw new Error(`no connection named ${trackerName}`)
      if (trackerId === enabledWith) return
      // Redis refuses a second ON with the same prefix on one connection, even for a new REDIRECT.
      await client.call('CLIENT', 'TRACKING', 'OFF')
      await client.call(
        'CLIENT',
        'TRACKING',
        'ON',
        'REDIRECT',
        trackerId,
        'BCAST',
        'PREFIX',
        prefix,
        'NOLOOP',
      )
      enabledWith = trackerId
      if (missedWrites) {
        missedWrites = false
        listener(null)
      }
    } catch (error) {
      report(
        new BusFailureError('[cachekit/pubsub] could not turn on key tracking; retrying', { cause: error }),
      )
      retry = setTimeout(() => void enable(), RETRY_MS)
      retry.unref()
    }
  }

  // 'messageBuffer', not 'message': ioredis turns the array of keys into one comma-joined string there.
  tracker.on('messageBuffer', (channel: Buffer, message: unknown) => {
    if (channel.toString() !== INVALIDATE_CHANNEL) return
    // A flush of the database arrives as a message without keys.
    if (Array.isArray(message)) listener(message.map((key: Buffer | string) => key.toString()))
    else listener(null)
  })
  // Either connection coming back (the tracker with a new id, the client without tracking) re-enables.
  const onReady = () => void enable()
  const onDrop = () => {
    if (stopped) return
    enabledWith = undefined
    missedWrites = true
    // Drop copies now too: the reconnect may take long, and they are unwatched meanwhile.
    listener(null)
  }
  tracker.on('ready', onReady)
  tracker.on('close', onDrop)
  client.on('ready', onReady)
  client.on('close', onDrop)

  await tracker.subscribe(INVALIDATE_CHANNEL)
  // 'ready' may have come before the subscription; `enabledWith` makes a second call a no-op.
  await enable()

  return async () => {
    stopped = true
    clearTimeout(retry)
    client.off('ready', onReady)
    tracker.off('ready', onReady)
    tracker.off('close', onDrop)
    client.off('close', onDrop)
    if (client.status === 'ready') await client.call('CLIENT', 'TRACKING', 'OFF').catch(() => undefined)
    await tracker.quit().catch(() => tracker.disconnect())
  }
}

/**
 * The id of the connection named `name`, from CLIENT LIST on another connection: a connection in
 * subscriber mode may not ask CLIENT ID itself, and it is in that mode as soon as ioredis resubscribes.
 * O(connections) on the server, paid once per (re)connect.
 */
async function connectionId(client: Redis, name: string): Promise<string | undefined> {
  const list = String(await client.call('CLIENT', 'LIST'))
  for (const line of list.split('\n')) {
    if (line.includes(` name=${name} `)) return /(?:^|\s)id=(\d+)/.exec(line)?.[1]
  }
  return undefined
}
