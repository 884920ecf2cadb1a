// Scratch: profile of the allowed path (not committed).
import { createRateLimiter } from '@cachekit/ratelimit'
import { createRedis } from '@cachekit/redis'
import { startStandalone } from '@cachekit/redis-harness'

const server = await startStandalone()
const limiter = createRateLimiter({
  client: createRedis(server.url),
  onRedisDown: 'insurance',
  algorithm: 'fixed-window',
  limit: 1e9,
  window: '1h',
})
let n = 0
const end = performance.now() + Number(process.env.MS ?? 4000)
await Promise.all(
  Array.from({ length: 64 }, async () => {
    while (performance.now() < end) {
      await limiter.limit(`user:${n++ % 10000}`)
    }
  }),
)
console.log('ops/s', Math.round(n / (Number(process.env.MS ?? 4000) / 1000)))
await limiter.close()
await server.stop()
