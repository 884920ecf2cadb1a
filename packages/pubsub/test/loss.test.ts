import { randomUUID } from 'node:crypto'
import { createRedis } from '@cachekit/redis'
import { requireTopology } from '@cachekit/redis-harness'
import { Redis } from 'ioredis'
import { afterEach, describe, expect, inject, it } from 'vitest'
import { redisBus } from '../src/index.js'
import { rawEnvelope, recorder, resources, waitFor, watch } from './helpers.js'

const { url } = requireTopology(inject('redis'), 'standalone')
const open = resources()
afterEach(() => open.closeAll())

/** A receiving bus and a raw client that plays senders, message by message. */
async function setUp() {
  const channelPrefix = `loss-test:${randomUUID()}:`
  const bus = open.bus(redisBus({ client: open.client(createRedis(url)), channelPrefix }))
  const raw = open.client(new Redis(url))
  const { losses, errors } = watch(bus)
  const received = recorder()
  await bus.subscribe('events', received.handler)
  const send = (instanceId: string, seq: number, payload: unknown = seq) =>
    raw.publish(`${channelPrefix}events`, rawEnvelope(instanceId, seq, payload))
  return { bus, raw, losses, errors, received, send, channelPrefix }
}

describe('loss detection', () => {
  it('reports a sequence gap with the sender, the channel and how many were missed, and still delivers', async () => {
    const { losses, received, send, bus } = await setUp()
    await send('sender-1', 1)
    await send('sender-1', 2)
    await send('sender-1', 5) // 3 and 4 were lost
    await send('sender-1', 6)
    await waitFor('4 messages', () => received.messages.length === 4)
    expect(received.messages.map((message) => message.seq)).toEqual([1, 2, 5, 6])
    expect(losses).toEqual([{ reason: 'gap', channel: 'events', instanceId: 'sender-1', missed: 2 }])
    expect(bus.stats()).toMatchObject({ gaps: 1, missed: 2 })
  })

  it('tracks senders and channels separately', async () => {
    const { losses, received, send, raw, bus, channelPrefix } = await setUp()
    const other = recorder()
    await bus.subscribe('other', other.handler)
    await send('sender-1', 1)
    await send('sender-2', 1)
    // sender-1 publishing on another channel in between is not a gap on `events`: sequences are per channel.
    await raw.publish(`${channelPrefix}other`, rawEnvelope('sender-1', 1, 'x'))
    await send('sender-1', 2)
    await send('sender-2', 3)
    await waitFor('5 messages', () => received.messages.length === 4 && other.messages.length === 1)
    expect(losses).toEqual([{ reason: 'gap', channel: 'events', instanceId: 'sender-2', missed: 1 }])
  })

  it('does not count a first sighting or a restarted sender as a gap', async () => {
    const { losses, received, send } = await setUp()
    await send('late-joiner', 41) // the receiver subscribed after 1..40: nothing to compare with
    await send('late-joiner', 42)
    await send('pod-a', 1)
    await send('pod-a', 2)
    await send('pod-a', 1) // a fixed instance id that restarted
    await send('pod-a', 2)
    await send('pod-a-new-id', 1) // a restart with a new id: another sender
    await waitFor('7 messages', () => received.messages.length === 7)
    expect(losses).toEqual([])
  })

  it("numbers a real bus' messages per channel, so a receiver of one channel sees no gap", async () => {
    const channelPrefix = `loss-test:${randomUUID()}:`
    const client = open.client(createRedis(url))
    const sender = open.bus(redisBus({ client, channelPrefix }))
    const receiver = open.bus(redisBus({ client, channelPrefix }))
    const { losses } = watch(receiver)
    const received = recorder()
    await receiver.subscribe('a', received.handler)
    for (let i = 0; i < 5; i++) {
      await sender.publish('a', i)
      await sender.publish('b', i)
    }
    await waitFor('5 messages', () => received.messages.length === 5)
    expect(received.messages.map((message) => message.seq)).toEqual([1, 2, 3, 4, 5])
    expect(losses).toEqual([])
  })

  it('keeps tracking a channel while it has handlers left', async () => {
    const { losses, send, bus, received } = await setUp()
    const extra = recorder()
    const stop = await bus.subscribe('events', extra.handler)
    await send('sender-1', 1)
    await waitFor('the first message', () => received.messages.length === 1)
    // Only the extra handler leaves: the channel stays subscribed and tracked.
    await stop()
    await send('sender-1', 3)
    await waitFor('the gap', () => losses.length === 1)
    expect(losses[0]).toMatchObject({ reason: 'gap', missed: 1 })
  })

  it('starts from a fresh baseline after the last handler of a channel left and a new one came', async () => {
    const channelPrefix = `loss-test:${randomUUID()}:`
    const bus = open.bus(redisBus({ client: open.client(createRedis(url)), channelPrefix }))
    const raw = open.client(new Redis(url))
    const { losses } = watch(bus)
    const first = recorder()
    const stop = await bus.subscribe('events', first.handler)
    await raw.publish(`${channelPrefix}events`, rawEnvelope('s', 1, 1))
    await waitFor('message 1', () => first.messages.length === 1)
    await stop()
    await raw.publish(`${channelPrefix}events`, rawEnvelope('s', 2, 2)) // nobody listens
    const second = recorder()
    await bus.subscribe('events', second.handler)
    await raw.publish(`${channelPrefix}events`, rawEnvelope('s', 3, 3))
    await waitFor('message 3', () => second.messages.length === 1)
    expect(losses).toEqual([])
  })

  it('a publish that fails still uses its sequence number, so receivers learn one was lost', async () => {
    const channelPrefix = `loss-test:${randomUUID()}:`
    const receiver = open.bus(redisBus({ client: open.client(createRedis(url)), channelPrefix }))
    const raw = open.client(new Redis(url))
    const { losses } = watch(receiver)
    const received = recorder()
    await receiver.subscribe('events', received.handler)
    const client = open.client(createRedis(url))
    const sender = open.bus(redisBus({ client, channelPrefix }))
    await sender.publish('events', 1)
    // Make one PUBLISH fail for real: kill the sender's connection. A client from createRedis fails
    // fast while disconnected instead of queueing; the receiver's own connection is not touched.
    const id = await client.client('ID')
    const closed = new Promise((resolve) => client.once('close', resolve))
    await raw.client('KILL', 'ID', String(id))
    await closed
    await expect(sender.publish('events', 2)).rejects.toMatchObject({ code: 'E_BUS_FAILURE' })
    await waitFor('the sender to reconnect', () => client.status === 'ready')
    await sender.publish('events', 3)
    await waitFor('2 messages', () => received.messages.length === 2)
    expect(received.messages.map((message) => message.seq)).toEqual([1, 3])
    expect(losses).toEqual([{ reason: 'gap', channel: 'events', instanceId: sender.instanceId, missed: 1 }])
  })
})
