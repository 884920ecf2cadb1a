import { randomUUID } from 'node:crypto'
import { escapeGlob } from '@cachekit/core'
import { createRedis } from '@cachekit/redis'
import { requireTopology } from '@cachekit/redis-harness'
import { Redis } from 'ioredis'
import { afterEach, describe, expect, inject, it } from 'vitest'
import { redisBus } from '../src/index.js'
import { rawEnvelope, recorder, resources, waitFor } from './helpers.js'

const { url } = requireTopology(inject('redis'), 'standalone')
const open = resources()
afterEach(() => open.closeAll())

describe('pattern subscriptions', () => {
  it('receive the matching channels only, named without the prefix', async () => {
    const channelPrefix = `pattern-test:${randomUUID()}:`
    const a = open.bus(redisBus({ client: open.client(createRedis(url)), channelPrefix }))
    const b = open.bus(redisBus({ client: open.client(createRedis(url)), channelPrefix }))
    const users = recorder()
    await b.subscribePattern('user:*:updated', users.handler)

    await a.publish('user:1:updated', 'one')
    await a.publish('user:2:deleted', 'no')
    await a.publish('order:1:updated', 'no')
    await a.publish('user:3:updated', 'three')
    await a.publish('sentinel', 'end')
    const sentinel = recorder()
    await b.subscribe('sentinel', sentinel.handler)
    await a.publish('sentinel', 'end')
    await waitFor('the sentinel message', () => sentinel.messages.length === 1)

    expect(users.messages.map(({ channel, payload, seq }) => ({ channel, payload, seq }))).toEqual([
      { channel: 'user:1:updated', payload: 'one', seq: 1 },
      { channel: 'user:3:updated', payload: 'three', seq: 1 },
    ])
  })

  it('escape the channel prefix: a glob character in it does not widen the pattern', async () => {
    const base = `pattern-test:${randomUUID()}`
    const client = open.client(createRedis(url))
    const raw = open.client(new Redis(url))
    // `[ab]*?` would match `a`, `bX`, ... if it were taken as a glob.
    const bus = open.bus(redisBus({ client, channelPrefix: `${base}:[ab]*?:` }))
    const received = recorder()
    await bus.subscribePattern('news:*', received.handler)

    for (const prefix of ['a', 'bX', 'ab', '[ab]*', '[ab]*?x']) {
      await raw.publish(`${base}:${prefix}:news:1`, rawEnvelope('other', 1, prefix))
    }
    await raw.publish(`${base}:[ab]*?:news:1`, rawEnvelope('other', 1, 'literal'))
    // Published last on one connection: any message the pattern wrongly matched arrives before it.
    await waitFor('the literal-prefix message', () => received.payloads().includes('literal'))
    expect(received.payloads()).toEqual(['literal'])
    expect(received.messages[0]?.channel).toBe('news:1')
  })

  it('take user parts literally when escaped with escapeGlob', async () => {
    const channelPrefix = `pattern-test:${randomUUID()}:`
    const a = open.bus(redisBus({ client: open.client(createRedis(url)), channelPrefix }))
    const b = open.bus(redisBus({ client: open.client(createRedis(url)), channelPrefix }))
    const tenant = 'acme*' // a tenant id with a glob character in it
    const received = recorder()
    await b.subscribePattern(`tenant:${escapeGlob(tenant)}:*`, received.handler)
    await a.publish('tenant:acme-corp:events', 'other tenant')
    await a.publish('tenant:acme*:events', 'ours')
    // Published last on one connection: the other tenant's message, if matched, arrives before it.
    await waitFor('our message', () => received.payloads().includes('ours'))
    expect(received.payloads()).toEqual(['ours'])
  })

  it('deliver once per subscription when a channel and a pattern both match, with no false gap', async () => {
    const channelPrefix = `pattern-test:${randomUUID()}:`
    const a = open.bus(redisBus({ client: open.client(createRedis(url)), channelPrefix }))
    const b = open.bus(redisBus({ client: open.client(createRedis(url)), channelPrefix }))
    const losses: unknown[] = []
    b.onLoss((loss) => losses.push(loss))
    const exact = recorder()
    const pattern = recorder()
    await b.subscribe('stock:42', exact.handler)
    await b.subscribePattern('stock:*', pattern.handler, { filter: ({ payload }) => payload !== 'skip' })
    for (const payload of ['a', 'skip', 'b']) await a.publish('stock:42', payload)
    await waitFor('all messages', () => exact.messages.length === 3 && pattern.messages.length === 2)
    expect(exact.payloads()).toEqual(['a', 'skip', 'b'])
    expect(pattern.payloads()).toEqual(['a', 'b'])
    expect(losses).toEqual([])
  })

  it('unsubscribe with PUNSUBSCRIBE once the last handler leaves', async () => {
    const channelPrefix = `pattern-test:${randomUUID()}:`
    const client = open.client(createRedis(url))
    const raw = open.client(new Redis(url))
    const bus = open.bus(redisBus({ client, channelPrefix }))
    const before = Number(await raw.pubsub('NUMPAT'))
    const stop1 = await bus.subscribePattern('x:*', () => undefined)
    const stop2 = await bus.subscribePattern('x:*', () => undefined)
    expect(Number(await raw.pubsub('NUMPAT'))).toBe(before + 1)
    await stop1()
    expect(Number(await raw.pubsub('NUMPAT'))).toBe(before + 1)
    await stop2()
    expect(Number(await raw.pubsub('NUMPAT'))).toBe(before)
  })
})
