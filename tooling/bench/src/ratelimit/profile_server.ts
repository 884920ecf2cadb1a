// Scratch: server-side cost per decision (not committed).
import { createRateLimiter } from '@cachekit/ratelimit'
import { createRedis } from '@cachekit/redis'
import { startStandalone } from '@cachekit/redis-harness'
import { Redis } from 'ioredis'

const server = await startStandalone()
const admin = new Redis(server.url)
const raw = new Redis(server.url, { enableAutoPipelining: true })
raw.defineCommand('fw', {
  numberOfKeys: 1,
  lua: `local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end return n`,
})
for (const algorithm of [
  'fixed-window',
  'sliding-window',
  'sliding-log',
  'token-bucket',
  'gcra',
  'raw',
] as const) {
  await admin.config('RESETSTAT')
  const limiter =
    algorithm === 'raw'
      ? undefined
      : createRateLimiter({
          client: createRedis(server.url),
          onRedisDown: 'insurance',
          algorithm,
          limit: algorithm === 'sliding-log' ? 100000 : 1e9,
          window: '1h',
        })
  let n = 0
  const end = performance.now() + 1500
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (performance.now() < end) {
        const k = `user:${n++ % 10000}`
        await (limiter ? limiter.limit(k) : (raw as any).fw(k, 3600000))
      }
    }),
  )
  const stats = await admin.info('commandstats')
  const line = stats
    .split('\n')
    .filter((l) => /evalsha|cmdstat_eval:/.test(l))
    .join(' ')
  console.log(
    algorithm,
    Math.round(n / 1.5),
    'ops/s',
    line.replace(/cmdstat_/g, '').replace(/rejected_calls=0,failed_calls=0/g, ''),
  )
  await limiter?.close()
}
admin.disconnect()
raw.disconnect()
await server.stop()
