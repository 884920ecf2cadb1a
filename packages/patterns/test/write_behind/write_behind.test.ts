import { CacheError, createCache } from '@cachekit/core'
import { memoryStore } from '@cachekit/memory'
import { describe, expect, test } from 'vitest'
import {
  compareVersions,
  WriteBehindLagError,
  type WriteBehindOptions,
  type WriteReceipt,
  writeBehind,
} from '../../src/index.js'
import { memorySink, onCleanup, readStream, redisClient, topologies, uniqueStream } from './helpers.js'

type Value = { n: number }

function queue(options: WriteBehindOptions<Value>) {
  const wb = writeBehind<Value>({ closeClient: false, ...options })
  onCleanup(() => wb.close())
  return wb
}

describe.each(topologies)('write-behind on %s', (topology) => {
  test('the cache sees each write at once; the sink gets the last write of each key, batch by batch', async () => {
    const client = redisClient(topology)
    const stream = uniqueStream()
    const sink = memorySink<Value>()
    const cache = createCache({ prefix: stream, l1: memoryStore() })
    onCleanup(() => cache.close())
    // A writer that does not consume, so every entry is in the stream before the consumer starts and
    // its batches are exactly `batchSize` entries.
    const writer = queue({ client, stream, sink, cache, consume: false, trimAcknowledged: false })
    const receipts: WriteReceipt[] = []
    for (let n = 0; n < 500; n++) {
      const receipt = await writer.write(`user:${n % 50}`, { n })
      receipts.push(receipt)
      expect(await cache.get(`user:${n % 50}`)).toEqual({ n })
    }
    for (let i = 1; i < receipts.length; i++) {
      expect(compareVersions(receipts[i - 1]!.version, receipts[i]!.version)).toBeLessThan(0)
    }
    const consumer = queue({ client, stream, sink, batchSize: 100, trimAcknowledged: false })
    await consumer.ready()
    await writer.flush()

    // 100 consecutive entries hold each of the 50 keys twice: one record per key, the later write.
    expect(sink.calls).toHaveLength(5)
    for (const [batch, records] of sink.calls.entries()) {
      expect(records.map(({ key }) => key).sort()).toEqual(
        Array.from({ length: 50 }, (_, k) => `user:${k}`).sort(),
      )
      for (const { key, value, version } of records) {
        const k = Number(key.slice('user:'.length))
        const n = batch * 100 + 50 + k
        expect(value).toEqual({ n })
        expect(version).toBe(receipts[n]!.version)
      }
    }
    for (let k = 0; k < 50; k++) expect(sink.rows.get(`user:${k}`)?.value).toEqual({ n: 450 + k })
    expect(consumer.stats()).toMatchObject({ flushed: 500, batches: 5, retries: 0, deadLettered: 0 })
    expect(await consumer.lag()).toBe(0)
  })

  test('close() flushes what was written', async () => {
    const client = redisClient(topology)
    const stream = uniqueStream()
    const sink = memorySink<Value>()
    const wb = queue({ client, stream, sink, flushInterval: '10ms' })
    for (let n = 0; n < 50; n++) await wb.write(`k${n}`, { n })
    await wb.close()
    expect(sink.rows.size).toBe(50)
    expect(wb.stats()).toMatchObject({ written: 50, flushed: 50 })
    await expect(wb.write('k0', { n: 0 })).rejects.toMatchObject({ code: 'E_STORE_CLOSED' })
  })

  test('past maxLag, refuse throws a typed error and writes nothing', async () => {
    const client = redisClient(topology)
    const stream = uniqueStream()
    const wb = queue({
      client,
      stream,
      sink: memorySink(),
      consume: false,
      maxLag: 5,
      onLagExceeded: 'refuse',
    })
    for (let n = 0; n < 5; n++) await wb.write(`k${n}`, { n })
    const refused = await wb.write('k5', { n: 5 }).catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(WriteBehindLagError)
    expect(refused).toMatchObject({ code: 'E_WRITE_BEHIND_LAG', lag: 5, maxLag: 5, key: 'k5' })
    expect(CacheError.hasCode(refused, 'E_WRITE_BEHIND_LAG')).toBe(true)
    expect(await client.xlen(stream)).toBe(5)
    expect(wb.stats()).toMatchObject({ written: 5, refused: 1 })
  })

  test('past maxLag, wait holds the write until a consumer brings the lag down', async () => {
    const client = redisClient(topology)
    const stream = uniqueStream()
    const sink = memorySink<Value>()
    const writer = queue({ client, stream, sink, consume: false, maxLag: 5, lagCheckInterval: '10ms' })
    for (let n = 0; n < 5; n++) await writer.write(`k${n}`, { n })
    const backpressure = new Promise((resolve) => writer.on('backpressure', resolve))
    const sixth = writer.write('k5', { n: 5 })
    expect(await backpressure).toMatchObject({ key: 'k5', lag: 5, maxLag: 5, action: 'wait' })
    expect(await client.xlen(stream)).toBe(5)
    const consumer = queue({ client, stream, sink, flushInterval: '10ms', trimAcknowledged: false })
    await expect(sixth).resolves.toMatchObject({ key: 'k5' })
    await consumer.flush()
    expect(sink.rows.get('k5')?.value).toEqual({ n: 5 })
    expect(await client.xlen(stream)).toBe(6)
  })

  test('entries left pending by a dead consumer are claimed; entries delivered too often go to the dead-letter stream', async () => {
    const client = redisClient(topology)
    const stream = uniqueStream()
    const sink = memorySink<Value>()
    const writer = queue({ client, stream, sink, consume: false, trimAcknowledged: false })
    for (let n = 0; n < 20; n++) await writer.write(`k${n}`, { n })
    // A consumer that read everything and died.
    await client.xreadgroup('GROUP', 'cachekit-write-behind', 'ghost', 'COUNT', 100, 'STREAMS', stream, '>')
    // ...and one entry it kept crashing on: delivered 10 times already.
    const [poisoned] = (await client.xrange(stream, '-', '+', 'COUNT', 1)) as Array<[string, string[]]>
    await client.xclaim(stream, 'cachekit-write-behind', 'ghost', 0, poisoned![0], 'RETRYCOUNT', 10)
    const deadLetters: string[] = []
    const consumer = queue({
      client,
      stream,
      sink,
      claimIdle: '20ms',
      maxAttempts: 5,
      trimAcknowledged: false,
      on: { deadLetter: ({ id }) => deadLetters.push(id) },
    })
    await consumer.flush()
    expect(deadLetters).toEqual([poisoned![0]])
    expect([...sink.rows.keys()].sort()).toEqual(Array.from({ length: 19 }, (_, i) => `k${i + 1}`).sort())
    expect(consumer.stats()).toMatchObject({ claimed: 20, flushed: 19, deadLettered: 1 })
    const [dead] = await readStream(client, `${stream}:dlq`)
    expect(dead!.fields).toMatchObject({ id: poisoned![0], k: 'k0', v: '{"n":0}', attempts: '10', stream })
    expect(dead!.fields.error).toMatch(/delivered 11 times/)
    expect(await client.xpending(stream, 'cachekit-write-behind')).toEqual([0, null, null, null])
  })

  test('an entry that cannot be decoded goes to the dead-letter stream; one gone from the stream is reported lost', async () => {
    const client = redisClient(topology)
    const stream = uniqueStream()
    const sink = memorySink<Value>()
    const writer = queue({ client, stream, sink, consume: false, trimAcknowledged: false })
    await writer.write('a', { n: 1 })
    const garbage = (await client.xadd(stream, '*', 'k', 'b', 'v', '{not json')) as string
    const deleted = (await writer.write('c', { n: 3 })).version
    await client.xreadgroup('GROUP', 'cachekit-write-behind', 'ghost', 'COUNT', 100, 'STREAMS', stream, '>')
    await client.xdel(stream, deleted)
    const lost: string[][] = []
    const consumer = queue({
      client,
      stream,
      sink,
      claimIdle: '20ms',
      trimAcknowledged: false,
      on: { lost: ({ ids }) => lost.push([...ids]) },
    })
    await consumer.flush()
    expect([...sink.rows.keys()]).toEqual(['a'])
    expect(lost).toEqual([[deleted]])
    const dead = await readStream(client, `${stream}:dlq`)
    expect(dead.map(({ fields }) => fields.id)).toEqual([garbage])
    expect(dead[0]!.fields.error).toMatch(/JSON/)
    expect(consumer.stats()).toMatchObject({ lost: 1, deadLettered: 1, flushed: 1 })
  })

  test('acknowledged entries are trimmed from the stream', async () => {
    const client = redisClient(topology)
    const stream = uniqueStream()
    const sink = memorySink<Value>()
    const writer = queue({ client, stream, sink, consume: false })
    for (let n = 0; n < 500; n++) await writer.write(`k${n % 7}`, { n })
    const consumer = queue({ client, stream, sink, batchSize: 1_000 })
    // One batch of all 500; its `flush` event comes after the trim.
    await new Promise((resolve) => consumer.on('flush', resolve))
    expect(sink.rows.get('k3')?.value).toEqual({ n: 493 })
    expect(await client.xlen(stream)).toBeLessThan(500)
  })
})

describe('write-behind input', () => {
  test('options are checked where given', () => {
    const client = redisClient('standalone')
    const sink = memorySink()
    const bad: Array<Partial<WriteBehindOptions<unknown>>> = [
      { client: {} as never },
      { sink: {} as never },
      { stream: '' },
      { cache: { get: () => 1 } as never },
      { batchSize: 0 },
      { batchSize: 1.5 },
      { maxAttempts: 0 },
      { flushInterval: 'soon' as never },
      { retryDelay: '1s', maxRetryDelay: '10ms' },
      { maxLag: 10, maxLen: 10 },
      { onLagExceeded: 'drop' as never },
      { deadLetterStream: 's' },
      { serialize: 'json' as never },
      { on: { flush: 'log' as never } },
    ]
    for (const options of bad) {
      expect(() => writeBehind({ client, stream: 's', sink, closeClient: false, ...options })).toThrow(
        expect.objectContaining({ code: expect.stringMatching(/^E_INVALID_(OPTION|DURATION)$/) }),
      )
    }
  })

  test('a bad key or a value the serializer cannot take is refused before anything is written', async () => {
    const client = redisClient('standalone')
    const stream = uniqueStream()
    const wb = writeBehind<unknown>({
      client,
      stream,
      sink: memorySink(),
      consume: false,
      closeClient: false,
    })
    onCleanup(() => wb.close())
    await expect(wb.write('', 1)).rejects.toMatchObject({ code: 'E_INVALID_OPTION' })
    await expect(wb.write('big', 10n)).rejects.toMatchObject({ code: 'E_CODEC_ENCODE', key: 'big' })
    await expect(wb.write('nothing', undefined)).rejects.toMatchObject({ code: 'E_CODEC_ENCODE' })
    expect(await client.exists(stream)).toBe(0)
  })
})
