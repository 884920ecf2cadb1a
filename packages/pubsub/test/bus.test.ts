import { randomUUID } from 'node:crypto'
import { BusFailureError, CacheError, InvalidOptionError } from '@cachekit/core'
import { createRedis } from '@cachekit/redis'
import { requireTopology } from '@cachekit/redis-harness'
import { msgpackCodec } from '@cachekit/serializers'
import { Redis } from 'ioredis'
import { afterEach, describe, expect, expectTypeOf, inject, it } from 'vitest'
import { MalformedMessageError, type RedisBus, redisBus, route } from '../src/index.js'
import { busConnections, recorder, resources, waitFor, watch } from './helpers.js'

const { url } = requireTopology(inject('redis'), 'standalone')
const open = resources()
afterEach(() => open.closeAll())

/** Two instances of an app, each with its own client, on a channel prefix of their own. */
function twoBuses(options: { channelPrefix?: string } = {}) {
  const channelPrefix = options.channelPrefix ?? `bus-test:${randomUUID()}:`
  const a = open.bus(redisBus({ client: open.client(createRedis(url)), channelPrefix }))
  const b = open.bus(redisBus({ client: open.client(createRedis(url)), channelPrefix }))
  return { a, b, channelPrefix }
}

describe('redisBus on a standalone server', () => {
  it("delivers another instance's messages with its instance id and seq 1, 2, 3, and never an instance's own", async () => {
    const { a, b } = twoBuses()
    const atB = recorder<{ n: number }>()
    const atA = recorder<{ n: number }>()
    await b.subscribe('events', atB.handler)
    await a.subscribe('events', atA.handler)

    const before = Date.now()
    for (const n of [1, 2, 3]) await a.publish('events', { n })

    await waitFor('3 messages at B', () => atB.messages.length === 3)
    const after = Date.now()
    expect(
      atB.messages.map(({ instanceId, seq, channel, payload }) => ({ instanceId, seq, channel, payload })),
    ).toEqual([
      { instanceId: a.instanceId, seq: 1, channel: 'events', payload: { n: 1 } },
      { instanceId: a.instanceId, seq: 2, channel: 'events', payload: { n: 2 } },
      { instanceId: a.instanceId, seq: 3, channel: 'events', payload: { n: 3 } },
    ])
    // sentAt is the sender's clock at publish time (the same host's here).
    for (const message of atB.messages) {
      expect(message.sentAt).toBeGreaterThanOrEqual(before)
      expect(message.sentAt).toBeLessThanOrEqual(after)
    }
    // A's own messages came back on its subscriber connection and were dropped there.
    await waitFor('A to see its own 3 messages', () => a.stats().ignoredOwn === 3)
    expect(atA.messages).toEqual([])
    expect(b.stats()).toMatchObject({ received: 3, ignoredOwn: 0, gaps: 0, malformed: 0 })
    expect(a.instanceId).not.toBe(b.instanceId)
  })

  it('keeps buses with different channel prefixes apart', async () => {
    const client = open.client(createRedis(url))
    const base = `bus-test:${randomUUID()}`
    const a = open.bus(redisBus({ client, channelPrefix: `${base}:a:` }))
    const b = open.bus(redisBus({ client, channelPrefix: `${base}:b:` }))
    const c = open.bus(redisBus({ client, channelPrefix: `${base}:a:` }))
    const atB = recorder()
    const atC = recorder()
    await b.subscribe('events', atB.handler)
    await c.subscribe('events', atC.handler)
    await a.publish('events', 'hello')
    await waitFor('the message at C', () => atC.messages.length === 1)
    // A marker on B's own prefix, sent after on the same connection: B would get A's message before it.
    const onB = open.bus(redisBus({ client, channelPrefix: `${base}:b:` }))
    await onB.publish('events', 'marker')
    await waitFor('the marker at B', () => atB.messages.length >= 1)
    expect(atB.payloads()).toEqual(['marker'])
  })

  it('gives every handler of a channel each message, with one Redis subscription, until the last one leaves', async () => {
    const { a, b, channelPrefix } = twoBuses()
    const raw = open.client(new Redis(url))
    const first = recorder()
    const second = recorder()
    const stopFirst = await b.subscribe('shared', first.handler)
    const stopSecond = await b.subscribe('shared', second.handler)
    expect(await raw.pubsub('NUMSUB', `${channelPrefix}shared`)).toEqual([`${channelPrefix}shared`, 1])

    await a.publish('shared', 1)
    await waitFor('both handlers', () => first.messages.length === 1 && second.messages.length === 1)

    await stopFirst()
    await stopFirst() // a second call is a no-op
    await a.publish('shared', 2)
    await waitFor('the second handler', () => second.messages.length === 2)
    expect(first.payloads()).toEqual([1])
    expect(await raw.pubsub('NUMSUB', `${channelPrefix}shared`)).toEqual([`${channelPrefix}shared`, 1])

    await stopSecond()
    expect(await raw.pubsub('NUMSUB', `${channelPrefix}shared`)).toEqual([`${channelPrefix}shared`, 0])
  })

  it('passes only the messages a filter accepts, and reports a filter that throws', async () => {
    const { a, b } = twoBuses()
    const { errors } = watch(b)
    const large = recorder<{ amount: number }>()
    const all = recorder<{ amount: number }>()
    await b.subscribe<{ amount: number }>('orders', large.handler, {
      filter: ({ payload }) => {
        if (payload.amount < 0) throw new Error('negative amount')
        return payload.amount >= 100
      },
    })
    await b.subscribe('orders', all.handler)
    for (const amount of [5, 150, -1, 99, 100]) await a.publish('orders', { amount })
    await waitFor('all 5 messages', () => all.messages.length === 5)
    expect(large.payloads()).toEqual([{ amount: 150 }, { amount: 100 }])
    expect(errors).toHaveLength(1)
    expect(errors[0]).toBeInstanceOf(BusFailureError)
    expect((errors[0] as BusFailureError).code).toBe('E_BUS_FAILURE')
    expect((errors[0]!.cause as Error).message).toBe('negative amount')
    expect(b.stats().handlerErrors).toBe(1)
  })

  it('routes a discriminated union by payload type, with a fallback, typed per variant', async () => {
    type OrderEvent =
      | { type: 'created'; id: string; total: number }
      | { type: 'cancelled'; id: string; reason: string }
    const { a, b } = twoBuses()
    const seen: string[] = []
    await b.subscribe<OrderEvent>(
      'orders',
      route<OrderEvent>(
        {
          created: ({ payload }) => {
            expectTypeOf(payload.total).toEqualTypeOf<number>()
            seen.push(`created ${payload.id} ${payload.total}`)
          },
          cancelled: ({ payload }) => {
            expectTypeOf(payload.reason).toEqualTypeOf<string>()
            seen.push(`cancelled ${payload.id} ${payload.reason}`)
          },
        },
        ({ payload }) => seen.push(`other ${JSON.stringify(payload)}`),
      ),
    )
    await a.publish<OrderEvent>('orders', { type: 'created', id: 'o1', total: 30 })
    await a.publish('orders', { type: 'shipped', id: 'o1' })
    await a.publish<OrderEvent>('orders', { type: 'cancelled', id: 'o1', reason: 'late' })
    await a.publish('orders', 'no type at all')
    await a.publish('orders', { type: 'toString' }) // not a route: own properties only
    await waitFor('5 messages', () => seen.length === 5)
    expect(seen).toEqual([
      'created o1 30',
      'other {"type":"shipped","id":"o1"}',
      'cancelled o1 late',
      'other "no type at all"',
      'other {"type":"toString"}',
    ])
  })

  it('reports a handler that throws or rejects, and still calls the other handlers', async () => {
    const { a, b } = twoBuses()
    const { errors } = watch(b)
    const healthy = recorder()
    await b.subscribe('jobs', () => {
      throw new Error('sync failure')
    })
    await b.subscribe('jobs', async () => {
      throw new Error('async failure')
    })
    await b.subscribe('jobs', healthy.handler)
    await a.publish('jobs', 1)
    await a.publish('jobs', 2)
    await waitFor('4 reported failures', () => errors.length === 4)
    expect(healthy.payloads()).toEqual([1, 2])
    expect(errors.map((error) => (error.cause as Error).message).sort()).toEqual([
      'async failure',
      'async failure',
      'sync failure',
      'sync failure',
    ])
  })

  it('drops and reports malformed messages and keeps working', async () => {
    const { a, b, channelPrefix } = twoBuses()
    const { errors, losses } = watch(b)
    const received = recorder()
    await b.subscribe('inbox', received.handler)
    const raw = open.client(new Redis(url))
    const channel = `${channelPrefix}inbox`
    const garbage = [
      'not json',
      '{"seq":1}',
      JSON.stringify(['ck2', 'x', 1, 0, null]), // unknown version
      JSON.stringify(['ck1', 'x', 1, 0]), // missing the payload
      JSON.stringify(['ck1', '', 1, 0, null]), // empty instance id
      JSON.stringify(['ck1', 'a\u0000b', 1, 0, null]), // NUL in the instance id
      JSON.stringify(['ck1', 'x', 0, 0, null]), // sequences start at 1
      JSON.stringify(['ck1', 'x', 1.5, 0, null]),
      JSON.stringify(['ck1', 'x', '1', 0, null]),
      JSON.stringify(['ck1', 'x', 1, -5, null]),
      Buffer.from([0xff, 0xfe, 0x00]),
    ]
    for (const message of garbage) await raw.publish(channel, message)
    await a.publish('inbox', 'still works')

    await waitFor('the valid message', () => received.messages.length === 1)
    expect(received.payloads()).toEqual(['still works'])
    expect(errors).toHaveLength(garbage.length)
    for (const error of errors) {
      expect(error).toBeInstanceOf(MalformedMessageError)
      expect(CacheError.hasCode(error, 'E_CODEC_DECODE')).toBe(true)
      expect((error as MalformedMessageError).channel).toBe('inbox')
    }
    expect(errors[0]?.message).toMatch(
      /\[cachekit\/pubsub\] dropped a malformed message on "inbox": not JSON/,
    )
    expect(b.stats()).toMatchObject({ malformed: garbage.length, received: 1 })
    expect(losses).toEqual([])
  })

  it('carries payloads through a codec: msgpack keeps Dates and bytes', async () => {
    const channelPrefix = `bus-test:${randomUUID()}:`
    const client = open.client(createRedis(url))
    const a = open.bus(redisBus({ client, channelPrefix, codec: msgpackCodec() }))
    const b = open.bus(redisBus({ client, channelPrefix, codec: msgpackCodec() }))
    const received = recorder<{ at: Date; bytes: Uint8Array }>()
    await b.subscribe('binary', received.handler)
    const at = new Date('2024-05-01T10:00:00Z')
    await a.publish('binary', { at, bytes: new Uint8Array([0, 1, 255]) })
    await waitFor('the message', () => received.messages.length === 1)
    const payload = received.messages[0]!.payload
    expect(payload.at).toBeInstanceOf(Date)
    expect(payload.at.getTime()).toBe(at.getTime())
    expect([...payload.bytes]).toEqual([0, 1, 255])

    // A JSON bus on the same channel cannot read msgpack: reported, not thrown.
    const json = open.bus(redisBus({ client, channelPrefix }))
    const { errors } = watch(json)
    await json.subscribe('binary', () => undefined)
    await a.publish('binary', { at, bytes: new Uint8Array([1]) })
    await waitFor('the malformed report', () => errors.length === 1)
    expect(errors[0]).toBeInstanceOf(MalformedMessageError)
  })

  it('rejects bad options and arguments with InvalidOptionError, and reports what cannot be encoded', async () => {
    const client = open.client(createRedis(url))
    expect(() => redisBus({ client, instanceId: '' })).toThrow(InvalidOptionError)
    expect(() => redisBus({ client, instanceId: 'x'.repeat(257) })).toThrow(InvalidOptionError)
    expect(() => redisBus({ client: {} as Redis })).toThrow(InvalidOptionError)
    const bus = open.bus(redisBus({ client, channelPrefix: `bus-test:${randomUUID()}:` }))
    await expect(bus.publish('', 1)).rejects.toThrow(InvalidOptionError)
    await expect(bus.subscribe('', () => undefined)).rejects.toThrow(InvalidOptionError)
    await expect(bus.subscribePattern('', () => undefined)).rejects.toThrow(InvalidOptionError)
    await expect(bus.subscribe('c', 'nope' as never)).rejects.toThrow(InvalidOptionError)
    await expect(bus.publish('c', { big: 1n })).rejects.toMatchObject({ code: 'E_CODEC_ENCODE' })
    // The failed encoding used no sequence number: the next message is still seq 1.
    const other = open.bus(redisBus({ client, channelPrefix: bus.channelPrefix }))
    const received = recorder()
    await other.subscribe('c', received.handler)
    await bus.publish('c', 'ok')
    await waitFor('the message', () => received.messages.length === 1)
    expect(received.messages[0]?.seq).toBe(1)
  })

  it('works with a client keyPrefix, which ioredis applies to shard channels (they are keys) but not to channels', async () => {
    const channelPrefix = `bus-test:${randomUUID()}:`
    const raw = open.client(new Redis(url))
    const prefixed = () => open.client(createRedis({ url, ioredis: { keyPrefix: 'kp:' } }))
    const a = open.bus(redisBus({ client: prefixed(), channelPrefix }))
    const b = open.bus(redisBus({ client: prefixed(), channelPrefix }))
    const sharded = recorder()
    const classic = recorder()
    await b.subscribe('s', sharded.handler, { sharded: true })
    await b.subscribe('c', classic.handler)
    expect(await raw.pubsub('SHARDNUMSUB', `kp:${channelPrefix}s`)).toEqual([`kp:${channelPrefix}s`, 1])
    expect(await raw.pubsub('NUMSUB', `${channelPrefix}c`)).toEqual([`${channelPrefix}c`, 1])
    await a.publish('s', 1, { sharded: true })
    await a.publish('c', 2)
    await waitFor('both messages', () => sharded.messages.length === 1 && classic.messages.length === 1)
    expect(sharded.messages[0]?.channel).toBe('s')
    expect(classic.messages[0]?.channel).toBe('c')
  })

  it('uses the instance id it is given', async () => {
    const { channelPrefix } = twoBuses()
    const client = open.client(createRedis(url))
    // Spaces are fine in an instance id, though not in a Redis connection name.
    const a = open.bus(redisBus({ client, channelPrefix, instanceId: 'pod 7' }))
    const b = open.bus(redisBus({ client, channelPrefix }))
    const received = recorder()
    const echo = recorder()
    await b.subscribe('c', received.handler)
    await a.subscribe('c', echo.handler)
    await a.publish('c', 1)
    await waitFor('the message', () => received.messages.length === 1)
    expect(a.instanceId).toBe('pod 7')
    expect(received.messages[0]?.instanceId).toBe('pod 7')
    const raw = open.client(new Redis(url))
    expect(await busConnections(raw, 'pod_7')).toHaveLength(1)
  })

  it('close() drops the handlers and quits its subscriber connection, and the client unless told closeClient: false', async () => {
    const raw = open.client(new Redis(url))
    const client = open.client(createRedis(url))
    const bus = redisBus({ client, channelPrefix: `bus-test:${randomUUID()}:`, closeClient: false })
    await bus.subscribe('c', () => undefined)
    await bus.subscribePattern('p:*', () => undefined)
    expect(await busConnections(raw, bus.instanceId)).toMatchObject([{ sub: '1', psub: '1' }])

    await bus.close()
    await bus.close() // idempotent
    await waitFor(
      'the subscriber connection to go',
      async () => (await busConnections(raw, bus.instanceId)).length === 0,
    )
    expect(await client.ping()).toBe('PONG')
    await expect(bus.publish('c', 1)).rejects.toThrow(BusFailureError)
    await expect(bus.subscribe('c', () => undefined)).rejects.toThrow(/closed/)

    const owned = createRedis(url)
    const owner = redisBus({ client: owned }) // the default: the bus owns the client it is given
    await owner.subscribe('c', () => undefined)
    await owner[Symbol.asyncDispose]()
    await waitFor('the owned client to end', () => owned.status === 'end')
  })

  it('opens no subscriber connection for a bus that only publishes', async () => {
    const raw = open.client(new Redis(url))
    const bus: RedisBus = open.bus(redisBus({ client: open.client(createRedis(url)) }))
    await bus.publish(`bus-test:${randomUUID()}`, 1)
    expect(await busConnections(raw, bus.instanceId)).toEqual([])
  })
})
