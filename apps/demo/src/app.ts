import type { Cache, InvalidationStrategy } from '@cachekit/core'
import { cacheMetrics, fastifyDashboard, fastifyMonitoring, rateLimitMetrics } from '@cachekit/monitoring'
import { createRateLimiter, fastifyRateLimit } from '@cachekit/ratelimit'
import type { Cluster, Redis } from '@cachekit/redis'
import Fastify, { type FastifyInstance } from 'fastify'
import { Registry } from 'prom-client'
import type { CacheMode } from './build_cache.js'
import type { ProductDatabase } from './product_database.js'

export interface DemoDependencies {
  cache: Cache
  database: ProductDatabase
  mode: CacheMode
  /** The Redis client behind the cache, in Redis mode: health checks and the rate limiter use it. */
  client?: Redis | Cluster
  /** Writes allowed per client address per minute. Default 30. */
  writesPerMinute?: number
  /** Key prefix of the rate limiter's state on Redis. Default `demo-rl:`. */
  rateLimitPrefix?: string
}

const productKey = (id: number) => `product:${id}`
/** Every cached product carries this tag, so one call invalidates the whole catalog. */
const CATALOG_TAG = 'catalog'
const STRATEGIES: readonly InvalidationStrategy[] = ['immediate', 'lazy', 'ttl']
/** How products are cached: tagged, and kept an hour past their TTL to be served stale if the database fails or after a lazy invalidation. */
const PRODUCT_CACHING = { tags: [CATALOG_TAG], grace: '1h' } as const

function parseId(raw: string): number | undefined {
  const id = Number(raw)
  return Number.isSafeInteger(id) && id > 0 ? id : undefined
}

/** The demo service: cached reads of a slow database, writes that invalidate, and stats. */
export function buildApp({
  cache,
  database,
  mode,
  client,
  writesPerMinute = 30,
  rateLimitPrefix = 'demo-rl:',
}: DemoDependencies): FastifyInstance {
  const app = Fastify({ logger: false })
  const products = cache.namespace('products')

  // Monitoring: /metrics, /health (application/health+json), /health/live, /health/ready, and the
  // live page at /cachekit, on a registry of the app's own.
  const registry = new Registry()
  const metrics = cacheMetrics(cache, { registry, ...(client ? { client } : {}) })
  // Writes are rate limited per client address; on Redis the limit holds across demo processes.
  const limiter = client
    ? createRateLimiter({
        client,
        closeClient: false,
        prefix: rateLimitPrefix,
        onRedisDown: 'insurance',
        algorithm: 'sliding-window',
        limit: writesPerMinute,
        window: '1m',
        name: 'writes',
      })
    : createRateLimiter({
        memory: true,
        algorithm: 'sliding-window',
        limit: writesPerMinute,
        window: '1m',
        name: 'writes',
      })
  const limits = rateLimitMetrics(limiter, { registry, name: 'writes' })
  const limitWrites = fastifyRateLimit(limiter)
  void app.register(fastifyMonitoring, {
    registry,
    health: { cache, ...(client ? { client } : {}), fallback: mode === 'redis' },
  })
  void app.register(fastifyDashboard, { registry, title: `cachekit demo (${mode})` })
  app.addHook('onClose', async () => {
    limits.close()
    metrics.close()
    await limiter.close()
  })

  app.get<{ Params: { id: string } }>('/products/:id', async (request, reply) => {
    const id = parseId(request.params.id)
    if (id === undefined) return reply.code(400).send({ error: 'id must be a positive integer' })
    const started = performance.now()
    let loaded = false
    const product = await products.getOrSet(
      productKey(id),
      async (context) => {
        const row = await database.findProduct(id)
        // Set once the row is in: a lazy refresh running behind a stale hit lands after the reply.
        loaded = true
        if (!row) context.skip() // do not cache a miss of the database
        return row ?? null
      },
      PRODUCT_CACHING,
    )
    const elapsedMs = Number((performance.now() - started).toFixed(2))
    reply.header('x-cache', loaded ? 'miss' : 'hit')
    if (!product)
      return reply.code(404).send({ error: `no product ${id}`, cache: loaded ? 'miss' : 'hit', elapsedMs })
    return { product, cache: loaded ? 'miss' : 'hit', elapsedMs }
  })

  app.get<{ Querystring: { ids?: string } }>('/products', async (request, reply) => {
    const ids = (request.query.ids ?? database.ids().join(',')).split(',').map(parseId)
    if (ids.some((id) => id === undefined))
      return reply.code(400).send({ error: 'ids must be positive integers' })
    const started = performance.now()
    const keys = (ids as number[]).map(productKey)
    const cached = await products.getMany(keys)
    const missing = (ids as number[]).filter((_, i) => cached[i] === undefined)
    const loaded = await Promise.all(missing.map((id) => database.findProduct(id)))
    await products.setMany(
      loaded.flatMap((row) => (row ? [{ key: productKey(row.id), value: row, ...PRODUCT_CACHING }] : [])),
    )
    const byId = new Map(loaded.flatMap((row) => (row ? [[row.id, row] as const] : [])))
    const items = (ids as number[]).map((id, i) => cached[i] ?? byId.get(id) ?? null)
    return { items, hits: ids.length - missing.length, misses: missing.length, elapsedMs: elapsed(started) }
  })

  app.put<{ Params: { id: string }; Body: { priceCents?: unknown } }>(
    '/products/:id',
    { onRequest: limitWrites },
    async (request, reply) => {
      const id = parseId(request.params.id)
      const priceCents = request.body?.priceCents
      if (id === undefined) return reply.code(400).send({ error: 'id must be a positive integer' })
      if (typeof priceCents !== 'number' || !Number.isSafeInteger(priceCents) || priceCents < 0) {
        return reply.code(400).send({ error: 'body must be {"priceCents": <non-negative integer>}' })
      }
      const product = await database.updatePrice(id, priceCents)
      if (!product) return reply.code(404).send({ error: `no product ${id}` })
      // Write to the source of truth first, then drop the cached copy: the next read loads the new row.
      await products.delete(productKey(id))
      return { product, invalidated: productKey(id) }
    },
  )

  // A catalog-wide change (a price list import, say): one O(1) call, whatever the number of products.
  app.post<{ Body: { strategy?: unknown } | undefined }>(
    '/catalog/invalidate',
    { onRequest: limitWrites },
    async (request, reply) => {
      const strategy = request.body?.strategy ?? 'immediate'
      if (!STRATEGIES.includes(strategy as InvalidationStrategy)) {
        return reply.code(400).send({ error: `strategy must be one of ${STRATEGIES.join(', ')}` })
      }
      await products.invalidateTags([CATALOG_TAG], { strategy: strategy as InvalidationStrategy })
      return { invalidated: [CATALOG_TAG], strategy }
    },
  )

  app.get('/stats', async () => ({ mode, cache: cache.stats(), databaseQueries: database.queries }))

  return app
}

function elapsed(started: number): number {
  return Number((performance.now() - started).toFixed(2))
}
