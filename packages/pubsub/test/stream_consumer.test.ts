import { randomUUID } from 'node:crypto'
import { InvalidOptionError } from '@cachekit/core'
import { createRedis } from '@cachekit/redis'
import { requireTopology } from '@cachekit/redis-harness'
import { Redis } from 'ioredis'
import { afterEach, describe, expect, inject, it } from 'vitest'
import { type StreamConsumer, type StreamEntry, streamConsumer } from '../src/index.js'
import { resources, sleep, waitFor } from './helpers.js'

const { url } = requireTopology(inject('redis'), 'standalone')
const cluster = requireTopology(inject('redis'), 'cluster')
const open = resources()
const consumers: StreamConsumer[] = []
afterEach(async () => {
  for (const consumer of consumers.splice(0)) await consumer.close()
  await open.closeAll()
})

function consume(options: Omit<Parameters<typeof streamConsumer>[0], 'client'> & { client?: Redis }) {
  const consumer = streamConsumer({ client: open.client(createRedis(url)), ...options })
  consumers.push(consumer)
  return consumer
}

/** Entries left pending (delivered, not acknowledged) in the group. */
async function pending(raw: Redis, stream: string, group: string): Promise<number> {
  const [count] = (await raw.xpending(stream, group)) as [number]
  return Number(count)
}

describe('streamConsumer', () => {
  it('handles new entries in order, a batch at a time, and acknowledges them', async () => {
    const stream = `stream-test:${randomUUID()}`
    const raw = open.client(new Redis(url))
    const handled: StreamEntry[] = []
    const consumer = consume({
      stream,
      group: 'g',
      batchSize: 3,
      handler: (entry) => void handled.push(entry),
    })
    await consumer.ready()
    const ids: string[] = []
    for (let i = 0; i < 8; i++) ids.push((await raw.xadd(stream, '*', 'n', String(i), 'kind', 'test'))!)
    await waitFor('8 entries', () => handled.length === 8)
    expect(handled.map((entry) => entry.id)).toEqual(ids)
    expect(handled[0]).toEqual({ id: ids[0], fields: { n: '0', kind: 'test' }, redelivered: false })
    await waitFor('all acknowledged', async () => (await pending(raw, stream, 'g')) === 0)
    expect(consumer.stats()).toEqual({ acknowledged: 8, failed: 0, claimed: 0 })
  })

  it('leaves an entry whose handler failed pending, and retries it after claimIdleMs', async () => {
    const stream = `stream-test:${randomUUID()}`
    const raw = open.client(new Redis(url))
    const attempts: StreamEntry[] = []
    const errors: Error[] = []
    const consumer = consume({
      stream,
      group: 'g',
      claimIdleMs: 200,
      blockMs: 100,
      handler: (entry) => {
        attempts.push(entry)
        if (attempts.length === 1) throw new Error('database down')
      },
    })
    consumer.onError((error) => errors.push(error))
    await consumer.ready()
    const id = await raw.xadd(stream, '*', 'job', 'send-mail')
    await waitFor('the first failure', () => errors.length === 1)
    expect(await pending(raw, stream, 'g')).toBe(1)
    await waitFor('the retry', () => attempts.length === 2)
    expect(attempts.map(({ id, redelivered }) => ({ id, redelivered }))).toEqual([
      { id, redelivered: false },
      { id, redelivered: true },
    ])
    await waitFor('the retry acknowledged', async () => (await pending(raw, stream, 'g')) === 0)
    expect(errors[0]).toMatchObject({ code: 'E_BUS_FAILURE' })
    expect((errors[0]!.cause as Error).message).toBe('database down')
    expect(consumer.stats()).toMatchObject({ acknowledged: 1, failed: 1, claimed: 1 })
  })

  it("takes over a dead consumer's pending entries with XAUTOCLAIM", async () => {
    const stream = `stream-test:${randomUUID()}`
    const raw = open.client(new Redis(url))
    await raw.xgroup('CREATE', stream, 'g', '$', 'MKSTREAM')
    const ids = [await raw.xadd(stream, '*', 'n', '1'), await raw.xadd(stream, '*', 'n', '2')]
    // A consumer reads both and dies before acknowledging them.
    await raw.xreadgroup('GROUP', 'g', 'dead', 'COUNT', 10, 'STREAMS', stream, '>')
    expect(await pending(raw, stream, 'g')).toBe(2)
    await sleep(150)

    const handled: StreamEntry[] = []
    consume({ stream, group: 'g', claimIdleMs: 100, handler: (entry) => void handled.push(entry) })
    await waitFor('both entries', () => handled.length === 2)
    expect(handled.map(({ id, redelivered }) => ({ id, redelivered }))).toEqual(
      ids.map((id) => ({ id, redelivered: true })),
    )
    await waitFor('all acknowledged', async () => (await pending(raw, stream, 'g')) === 0)
  })

  it('a restarted consumer with a stable name handles its own pending entries first', async () => {
    const stream = `stream-test:${randomUUID()}`
    const raw = open.client(new Redis(url))
    await raw.xgroup('CREATE', stream, 'g', '$', 'MKSTREAM')
    const id = await raw.xadd(stream, '*', 'n', '1')
    await raw.xreadgroup('GROUP', 'g', 'pod-1', 'COUNT', 10, 'STREAMS', stream, '>')
    const handled: StreamEntry[] = []
    // claimIdleMs is long: only reading its own pending list can bring the entry back this fast.
    consume({ stream, group: 'g', consumer: 'pod-1', handler: (entry) => void handled.push(entry) })
    await waitFor('the pending entry', () => handled.length === 1)
    expect(handled[0]).toMatchObject({ id, redelivered: true })
  })

  it('shares a group: each entry goes to one consumer', async () => {
    const stream = `stream-test:${randomUUID()}`
    const raw = open.client(new Redis(url))
    const seen: Array<[string, string]> = []
    const a = consume({
      stream,
      group: 'g',
      consumer: 'a',
      batchSize: 1,
      handler: async (e) => void seen.push(['a', e.id]),
    })
    const b = consume({
      stream,
      group: 'g',
      consumer: 'b',
      batchSize: 1,
      handler: async (e) => void seen.push(['b', e.id]),
    })
    await Promise.all([a.ready(), b.ready()])
    for (let i = 0; i < 20; i++) await raw.xadd(stream, '*', 'n', String(i))
    await waitFor('20 entries', () => seen.length === 20)
    await sleep(100)
    expect(new Set(seen.map(([, id]) => id)).size).toBe(20)
    expect(seen).toHaveLength(20)
  })

  it('close() ends a blocking read at once and lets the entry in progress finish', async () => {
    const stream = `stream-test:${randomUUID()}`
    const raw = open.client(new Redis(url))
    let finished = false
    const consumer = streamConsumer({
      client: open.client(createRedis(url)),
      stream,
      group: 'g',
      blockMs: 60_000,
      handler: async () => {
        await sleep(200)
        finished = true
      },
    })
    await consumer.ready()
    await raw.xadd(stream, '*', 'n', '1')
    await waitFor('the handler to start', async () => (await pending(raw, stream, 'g')) === 1)
    const closed = consumer.close().then(() => 'closed')
    expect(await Promise.race([closed, sleep(10_000).then(() => 'still blocked')])).toBe('closed')
    expect(finished).toBe(true)
    expect(await pending(raw, stream, 'g')).toBe(0)
  })

  it('works on a cluster', async () => {
    const stream = `stream-test:{${randomUUID()}}`
    const client = open.client(createRedis({ cluster: cluster.startupNodes }))
    const handled: StreamEntry[] = []
    const consumer = streamConsumer({
      client,
      stream,
      group: 'g',
      handler: (entry) => void handled.push(entry),
    })
    consumers.push(consumer)
    await consumer.ready()
    await client.xadd(stream, '*', 'n', '1')
    await waitFor('the entry', () => handled.length === 1)
    expect(handled[0]?.fields).toEqual({ n: '1' })
  })

  it('rejects bad options with InvalidOptionError', () => {
    const client = open.client(createRedis(url))
    const handler = () => undefined
    expect(() => streamConsumer({ client, stream: '', group: 'g', handler })).toThrow(InvalidOptionError)
    expect(() => streamConsumer({ client, stream: 's', group: '', handler })).toThrow(InvalidOptionError)
    expect(() => streamConsumer({ client, stream: 's', group: 'g', handler, batchSize: 0 })).toThrow(
      InvalidOptionError,
    )
    expect(() => streamConsumer({ client, stream: 's', group: 'g', handler: 'x' as never })).toThrow(
      InvalidOptionError,
    )
  })
})
