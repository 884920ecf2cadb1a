import { randomUUID } from 'node:crypto'
import { requireTopology } from '@cachekit/redis-harness'
import { Redis } from 'ioredis'
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest'
import { FleetWorker } from '../src/fleet.js'

const { url } = requireTopology(inject('redis'), 'standalone')
const raw = new Redis(url)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const workers: FleetWorker[] = []
/** How long a process may take to see another's change before the test calls it lost. */
const HANG_MS = 15_000

async function fleet(count: number, lock: 'local' | 'distributed' = 'local', startAt?: number) {
  const prefix = `fleet:${randomUUID()}`
  const started = await Promise.all(
    Array.from({ length: count }, () => FleetWorker.start({ redisUrl: url, prefix, lock, startAt })),
  )
  workers.push(...started)
  return started
}

/**
 * Asks until `check` holds, for at most `limitMs`; resolves with how long it took. The limit bounds a
 * hang, not the speed of the fleet: keep it far above a bus round trip (and far below the 1 h TTL, so
 * a copy that went only means the bus dropped it).
 */
async function within(limitMs: number, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now()
  while (!(await check())) {
    if (Date.now() - started > limitMs) throw new Error(`not within ${limitMs} ms`)
    await sleep(2)
  }
  return Date.now() - started
}

afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.stop()))
})

afterAll(async () => {
  await raw.quit()
})

describe('a fleet of processes on one Redis', () => {
  it('runs the factory once for 4 processes x 250 concurrent cold calls with lock: distributed', async () => {
    const counterKey = `fleet-counter:${randomUUID()}`
    const processes = await fleet(4, 'distributed', Date.now() + 1_500)
    const results = await Promise.all(
      processes.map((worker) =>
        worker.ask<string[]>({
          op: 'getOrSet',
          key: 'cold',
          concurrency: 250,
          factoryDelayMs: 100,
          counterKey,
        }),
      ),
    )
    expect(Number(await raw.get(counterKey))).toBe(1)
    const values = new Set(results.flat())
    expect(values.size).toBe(1)
    expect(results.flat()).toHaveLength(1_000)
  })

  it('without the distributed lock, each process runs its own factory (the lock is what makes it one)', async () => {
    const counterKey = `fleet-counter:${randomUUID()}`
    const processes = await fleet(4, 'local', Date.now() + 1_500)
    await Promise.all(
      processes.map((worker) =>
        worker.ask({ op: 'getOrSet', key: 'cold', concurrency: 250, factoryDelayMs: 100, counterKey }),
      ),
    )
    expect(Number(await raw.get(counterKey))).toBeGreaterThan(1)
  })

  it("drops B's L1 copy when A sets or deletes, within a bus round trip", async () => {
    const [a, b] = (await fleet(2)) as [FleetWorker, FleetWorker]
    await a.ask({ op: 'set', key: 'k', value: 'v1' })
    expect(await b.ask({ op: 'get', key: 'k' })).toBe('v1')
    expect(await b.ask({ op: 'inL1', key: 'k' })).toBe(true)

    await a.ask({ op: 'set', key: 'k', value: 'v2' })
    const tookSet = await within(HANG_MS, async () => (await b.ask({ op: 'get', key: 'k' })) === 'v2')
    await a.ask({ op: 'delete', key: 'k' })
    const tookDelete = await within(HANG_MS, async () => (await b.ask({ op: 'get', key: 'k' })) === null)
    console.info(`[fleet] B saw A's set after ${tookSet} ms and A's delete after ${tookDelete} ms`)
  })

  it("a tag invalidated in process A makes process B's next read miss, L1 copy included", async () => {
    const [a, b, c] = (await fleet(3)) as [FleetWorker, FleetWorker, FleetWorker]
    for (let i = 0; i < 20; i++) {
      await a.ask({ op: 'set', key: `p:${i}`, value: `v${i}`, tags: ['products', `page:${i % 2}`] })
    }
    expect(await b.ask({ op: 'get', key: 'p:3' })).toBe('v3')
    expect(await b.ask({ op: 'inL1', key: 'p:3' })).toBe(true)

    await a.ask({ op: 'invalidateTags', tags: ['page:1'] })
    const took = await within(HANG_MS, async () => (await b.ask({ op: 'get', key: 'p:3' })) === null)
    expect(await b.ask({ op: 'has', key: 'p:5' })).toBe(false)
    expect(await b.ask({ op: 'get', key: 'p:4' })).toBe('v4')
    // C never read anything: it learns the tag's time from Redis on its first read.
    expect(await c.ask({ op: 'get', key: 'p:7' })).toBeNull()
    expect(await c.ask({ op: 'get', key: 'p:6' })).toBe('v6')
    console.info(`[fleet] B missed after A's tag invalidation within ${took} ms`)
  })

  it("clears B's L1 when its bus subscriber connection is killed, so a write it missed is not served stale", async () => {
    const [a, b] = (await fleet(2)) as [FleetWorker, FleetWorker]
    await a.ask({ op: 'set', key: 'k', value: 'before' })
    expect(await b.ask({ op: 'get', key: 'k' })).toBe('before')
    expect(await b.ask({ op: 'inL1', key: 'k' })).toBe(true)

    // Kill every subscriber connection, then write at once: B's subscriber is down and misses it.
    await raw.client('KILL', 'TYPE', 'pubsub')
    await a.ask({ op: 'set', key: 'k', value: 'after' })

    // B's L1 copy (TTL 1 h) must go because the bus reported the loss, not because it expired.
    await within(HANG_MS, async () => (await b.ask({ op: 'inL1', key: 'k' })) === false)
    expect(await b.ask({ op: 'get', key: 'k' })).toBe('after')
    // And the bus works again after the reconnect.
    await b.ask({ op: 'get', key: 'k' })
    await a.ask({ op: 'set', key: 'k', value: 'later' })
    await within(HANG_MS, async () => (await b.ask({ op: 'get', key: 'k' })) === 'later')
  })

  it('writeThrough in one process: the other drops its L1 copy after a write, and keeps it after a failed one', async () => {
    const [writer, reader] = await fleet(2)
    const sourceKey = `fleet-source:${randomUUID()}`
    await writer!.ask({ op: 'set', key: 'user:1', value: 'Ada' })
    expect(await reader!.ask({ op: 'get', key: 'user:1' })).toBe('Ada')
    await within(HANG_MS, () => reader!.ask<boolean>({ op: 'inL1', key: 'user:1' }))

    // A failed write leaves every copy as it was: the reader's L1 and Redis still say Ada.
    expect(
      await writer!.ask({ op: 'writeThrough', key: 'user:1', value: 'Eve', sourceKey, fail: true }),
    ).toBe('failed: the source refused the write')
    expect(await raw.hget(sourceKey, 'user:1')).toBeNull()
    expect(await reader!.ask({ op: 'inL1', key: 'user:1' })).toBe(true)
    expect(await reader!.ask({ op: 'get', key: 'user:1' })).toBe('Ada')
    expect(await writer!.ask({ op: 'get', key: 'user:1' })).toBe('Ada')

    // A write that succeeds reaches the source first, then the reader through the bus.
    expect(
      await writer!.ask({ op: 'writeThrough', key: 'user:1', value: 'Grace', sourceKey, fail: false }),
    ).toBe('written')
    expect(await raw.hget(sourceKey, 'user:1')).toBe('Grace')
    await within(HANG_MS, async () => (await reader!.ask({ op: 'get', key: 'user:1' })) === 'Grace')
    await raw.del(sourceKey)
  })
})
