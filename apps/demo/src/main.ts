import { buildApp } from './app.js'
import { buildCache } from './build_cache.js'
import { ProductDatabase } from './product_database.js'

const port = Number(process.env.PORT ?? 3000)
const host = process.env.HOST ?? '127.0.0.1'
const latencyMs = Number(process.env.DB_LATENCY_MS ?? 150)

const { cache, mode, client } = buildCache(process.env)
const database = new ProductDatabase(latencyMs)
const app = buildApp({ cache, database, mode, ...(client ? { client } : {}) })

const url = await app.listen({ port, host })
const where =
  mode === 'redis'
    ? 'Redis (REDIS_URL) behind an in-memory L1'
    : 'the in-memory store (set REDIS_URL to use Redis)'
console.log(`cachekit demo listening on ${url}, caching on ${where}; the database answers in ${latencyMs} ms.

Try:
  curl -s ${url}/products/1        # miss: goes to the slow database
  curl -s ${url}/products/1        # hit: served from the cache
  curl -s -X PUT ${url}/products/1 -H 'content-type: application/json' -d '{"priceCents": 1299}'
  curl -s ${url}/products/1        # miss again: the update invalidated the key
  curl -s '${url}/products?ids=1,2,3'
  curl -s -X POST ${url}/catalog/invalidate -H 'content-type: application/json' -d '{"strategy": "lazy"}'
  curl -s ${url}/products/1        # stale hit at once; one refresh reloads it in the background
  curl -s ${url}/stats
  curl -s ${url}/health            # application/health+json: cache, Redis, fallback
  curl -s ${url}/metrics           # Prometheus: cache, Redis INFO, rate limit decisions
  open ${url}/cachekit             # the live dashboard
  (writes are rate limited: 30 per minute per address; the 31st is a 429 with Retry-After)
`)

async function shutdown(signal: string) {
  console.log(`\n${signal}: closing`)
  await app.close()
  await cache.close()
  process.exit(0)
}
process.once('SIGINT', () => void shutdown('SIGINT'))
process.once('SIGTERM', () => void shutdown('SIGTERM'))
