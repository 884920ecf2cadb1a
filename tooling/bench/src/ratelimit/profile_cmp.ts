// Scratch (not committed): ours vs rate-limiter-flexible, with server and client CPU.
import { readFileSync } from 'node:fs'
import { createRateLimiter } from '@cachekit/ratelimit'
import { createRedis } from '@cachekit/redis'
import { startStandalone } from '@cachekit/redis-harness'
import { RateLimiterRedis } from 'rate-limiter-flexible'

const server = await startStandalone()
const cpu = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(f[11]) + Number(f[12])) / 100
}
const ours = createRateLimiter({
  client: createRedis(server.url),
  onRedisDown: 'insurance',
  algorithm: 'fixed-window',
  limit: 1e9,
  window: '1h',
})
const theirs = new RateLimiterRedis({ storeClient: createRedis(server.url), points: 1e9, duration: 3600 })
const pair = [
  ['ours', (k: string) => ours.limit(k)],
  ['theirs', (k: string) => theirs.consume(k)],
] as const
for (const [name, op] of [...pair, ...pair]) {
  let n = 0
  const s0 = cpu(server.pid!),
    c0 = process.cpuUsage()
  const t0 = performance.now(),
    end = t0 + 1000
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (performance.now() < end) await op(`user:${n++ % 10000}`)
    }),
  )
  const secs = (performance.now() - t0) / 1000
  const c = process.cpuUsage(c0)
  console.log(
    name,
    Math.round(n / secs),
    'ops/s; server cpu',
    ((cpu(server.pid!) - s0) / secs).toFixed(2),
    'client cpu',
    ((c.user + c.system) / 1e6 / secs).toFixed(2),
  )
}
await ours.close()
await server.stop()
process.exit(0)
