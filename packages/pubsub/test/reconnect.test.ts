import { randomUUID } from 'node:crypto'
import { createRedis } from '@cachekit/redis'
import { type RedisServerHandle, startStandalone } from '@cachekit/redis-harness'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type RedisBus, redisBus } from '../src/index.js'
import { busConnections, recorder, resources, sleep, waitFor, watch } from './helpers.js'

const open = resources()
afterEach(() => open.closeAll())

/** Publishes until the receiver got one message more (or fails after the bounded wait). */
async function deliveredAgain(sender: RedisBus, channel: string, received: { messages: unknown[] }) {
  const before = received.messages.length
  await waitFor(`a message on ${channel} to arrive again`, async () => {
    await sender.publish(channel, 'after').catch(() => undefined)
    await sleep(50)
    return received.messages.length > before
  })
}

describe('the subscriber connection drops and comes back', () => {
  let server: RedisServerHandle

  beforeAll(async () => {
    // Our own server: these tests kill connections and the server itself.
    server = await startStandalone()
  })

  afterAll(async () => {
    await server.stop()
  })

  it('CLIENT KILL TYPE pubsub: one `disconnected` loss, ioredis resubscribes channels, patterns and shard channels, messages flow again', async () => {
    const channelPrefix = `reconnect:${randomUUID()}:`
    const raw = open.client(new Redis(server.url))
    const sender = open.bus(redisBus({ client: open.client(createRedis(server.url)), channelPrefix }))
    const bus = open.bus(redisBus({ client: open.client(createRedis(server.url)), channelPrefix }))
    const { losses, errors } = watch(bus)
    const exact = recorder()
    const pattern = recorder()
    const sharded = recorder()
    await bus.subscribe('exact', exact.handler)
    await bus.subscribePattern('pat:*', pattern.handler)
    await bus.subscribe('shard', sharded.handler, { sharded: true })
    const [before] = await busConnections(raw, bus.instanceId)
    expect(before).toMatchObject({ sub: '1', psub: '1', ssub: '1' })

    expect(Number(await raw.client('KILL', 'TYPE', 'pubsub'))).toBeGreaterThanOrEqual(1)

    await waitFor('the drop and the restore', () => losses.length === 2)
    expect(losses).toEqual([
      { reason: 'disconnected', phase: 'dropped' },
      { reason: 'disconnected', phase: 'restored' },
    ])
    // A new connection, subscribed again to all three by ioredis' autoResubscribe (the bus does not
    // resubscribe a standalone connection itself).
    const [after] = await busConnections(raw, bus.instanceId)
    expect(after?.id).not.toBe(before?.id)
    expect(after).toMatchObject({ sub: '1', psub: '1', ssub: '1' })

    await deliveredAgain(sender, 'exact', exact)
    await deliveredAgain(sender, 'pat:1', pattern)
    const shardedBefore = sharded.messages.length
    await sender.publish('shard', 'after', { sharded: true })
    await waitFor('the shard message', () => sharded.messages.length > shardedBefore)
    expect(bus.stats().disconnects).toBe(1)
    expect(errors).toEqual([])
  })

  it('the server dies: `disconnected` once however long it stays down, subscriptions made meanwhile wait, all come back', async () => {
    const channelPrefix = `reconnect:${randomUUID()}:`
    const sender = open.bus(redisBus({ client: open.client(createRedis(server.url)), channelPrefix }))
    // The subscriber inherits the client's commandTimeout, which bounds a subscription made while
    // Redis is down; long enough here for the restart below.
    const client = open.client(createRedis({ url: server.url, commandTimeout: 15_000 }))
    const bus = open.bus(redisBus({ client, channelPrefix }))
    const { losses } = watch(bus)
    const early = recorder()
    await bus.subscribe('early', early.handler)
    await sender.publish('early', 'before')
    await waitFor('the first message', () => early.messages.length === 1)

    await server.kill()
    await waitFor('the drop', () => losses.length === 1)
    // Down for a while: ioredis goes through several reconnect attempts, each with 'close' and
    // 'reconnecting'; it is still one drop.
    await sleep(1_200)
    expect(losses).toEqual([{ reason: 'disconnected', phase: 'dropped' }])

    // A subscription made while Redis is down waits for the connection instead of failing: the
    // subscriber does not inherit the fail-fast offline queue of a createRedis client.
    const late = recorder()
    const lateSubscription = bus.subscribe('late', late.handler)
    // While down, a publish fails fast (the sender's client does fail fast) and uses up its number.
    await expect(sender.publish('early', 'lost')).rejects.toMatchObject({ code: 'E_BUS_FAILURE' })

    await server.restart()
    await lateSubscription
    await waitFor('the restore', () => losses.length === 2)
    expect(losses[1]).toEqual({ reason: 'disconnected', phase: 'restored' })
    await deliveredAgain(sender, 'early', early)
    await deliveredAgain(sender, 'late', late)
    // The failed publish used seq 2, and a retry of deliveredAgain sent before the subscription
    // came back may have used 3; the drop reset the receiver's tracking, so neither is also a gap.
    expect(early.messages[1]!.seq).toBeGreaterThanOrEqual(3)
    expect(losses).toHaveLength(2)
  })

  it("a subscription that outlives the client's commandTimeout while Redis is down fails, and is not left behind", async () => {
    const channelPrefix = `reconnect:${randomUUID()}:`
    const raw = open.client(new Redis(server.url))
    const bus = open.bus(
      redisBus({ client: open.client(createRedis({ url: server.url, commandTimeout: 300 })), channelPrefix }),
    )
    const { losses } = watch(bus)
    await bus.subscribe('kept', () => undefined)
    await server.kill()
    await waitFor('the drop', () => losses.length === 1)
    await expect(bus.subscribe('timed-out', () => undefined)).rejects.toMatchObject({ code: 'E_BUS_FAILURE' })
    await server.restart()
    await waitFor('the restore', () => losses.length === 2)
    await raw.ping()
    // ioredis sent the queued SUBSCRIBE on reconnect, and the UNSUBSCRIBE queued behind it undid it.
    await waitFor(
      'only `kept` to be subscribed',
      async () => (await busConnections(raw, bus.instanceId))[0]?.sub === '1',
    )
    expect(await raw.pubsub('NUMSUB', `${channelPrefix}timed-out`)).toEqual([`${channelPrefix}timed-out`, 0])
  })

  it('reports no loss when the bus itself closes', async () => {
    const bus = redisBus({ client: open.client(createRedis(server.url)) })
    const { losses } = watch(bus)
    await bus.subscribe(`reconnect:${randomUUID()}`, () => undefined)
    await bus.close()
    await sleep(100)
    expect(losses).toEqual([])
  })
})
