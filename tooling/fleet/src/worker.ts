/**
 * A cache in its own process, driven by the test over IPC: what one instance of an app would be.
 * Run with tsx and tsconfig.worker.json so cachekit packages come from source.
 */
import { type CacheEntry, createCache } from '@cachekit/core'
import { memoryStore } from '@cachekit/memory'
import { writeThrough } from '@cachekit/patterns'
import { redisBus } from '@cachekit/pubsub'
import { createRedis, redisStore, redisTagIndex } from '@cachekit/redis'
import type { WorkerConfig, WorkerReply, WorkerRequest } from './protocol.js'

const config = JSON.parse(process.env.FLEET_WORKER_CONFIG ?? '{}') as WorkerConfig
const client = createRedis(config.redisUrl)
const l1 = memoryStore<CacheEntry>({ maxEntries: 10_000 })
const bus = redisBus({ client })
const cache = createCache({
  prefix: config.prefix,
  l1,
  l2: redisStore({ client, closeClient: false }),
  bus,
  tagIndex: redisTagIndex({ client, prefix: `${config.prefix}-tags:`, closeClient: false }),
  lock: config.lock,
  ttl: '1h',
})

async function handle(request: WorkerRequest): Promise<unknown> {
  switch (request.op) {
    case 'getOrSet': {
      if (config.startAt) await sleep(Math.max(0, config.startAt - Date.now()))
      const calls = Array.from({ length: request.concurrency }, () =>
        cache.getOrSet(request.key, async () => {
          await client.incr(request.counterKey)
          await sleep(request.factoryDelayMs)
          return `built by ${process.pid}`
        }),
      )
      return Promise.all(calls)
    }
    case 'get':
      return (await cache.get(request.key)) ?? null
    case 'set':
      return cache.set(request.key, request.value, { tags: request.tags })
    case 'invalidateTags':
      return cache.invalidateTags(request.tags)
    case 'has':
      return cache.has(request.key)
    case 'delete':
      return cache.delete(request.key)
    case 'writeThrough': {
      const save = writeThrough(cache, {
        write: async (value: string) => {
          if (request.fail) throw new Error('the source refused the write')
          await client.hset(request.sourceKey, request.key, value)
          return value
        },
        key: () => request.key,
      })
      return save(request.value).then(
        () => 'written',
        (error: unknown) => `failed: ${(error as Error).message}`,
      )
    }
    case 'inL1':
      return l1.getSync(`${config.prefix}::${request.key}`) !== undefined
    case 'stats':
      return cache.stats()
    case 'close':
      await cache.close()
      await bus.close()
      await client.quit()
      setImmediate(() => process.exit(0))
      return true
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

process.on('message', (request: WorkerRequest) => {
  handle(request).then(
    (result) => process.send?.({ id: request.id, ok: true, result: result ?? null } satisfies WorkerReply),
    (error: unknown) =>
      process.send?.({ id: request.id, ok: false, error: String(error) } satisfies WorkerReply),
  )
})

await cache.ready()
process.send?.({ id: 0, ok: true, result: 'ready' } satisfies WorkerReply)
