// Scratch: server µs per call of script variants under the bench's load (not committed).
import { startStandalone } from '@cachekit/redis-harness'
import { Redis } from 'ioredis'
import { decideScript } from '../../../../packages/ratelimit/src/redis/decide_script.js'

const generated = decideScript([{ name: 'x', algorithm: 'fixed-window', code: 'fw', limit: 1e9, windowMs: 3.6e6, burst: 1e9 }]).source
const minimal = `local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end return n`
const server = await startStandalone()
const admin = new Redis(server.url)
const client = new Redis(server.url, { enableAutoPipelining: true })
const rlf = `redis.call('set', KEYS[1], 0, 'EX', ARGV[2], 'NX') local consumed = redis.call('incrby', KEYS[1], ARGV[1]) local ttl = redis.call('pttl', KEYS[1]) return {consumed, ttl}`
const variants: Array<[string, string]> = [
  ['generated', generated],
  ['rlf', rlf],
  ['generated-no-time', generated.replace("local t = redis.call('TIME')", "local t = {'1700000000', '5'}")],
  ['generated', generated],
  ['rlf', rlf],
  ['generated-no-time', generated.replace("local t = redis.call('TIME')", "local t = {'1700000000', '5'}")],
]
for (const [name, body] of variants) {
  await admin.flushall()
  await admin.config('RESETSTAT')
  const sha = (await admin.script('LOAD', body)) as string
  let n = 0
  const end = performance.now() + 1500
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (performance.now() < end) {
        const k = `user:${n++ % 10000}`
        if (name === 'minimal') await client.evalsha(sha, 1, `m:{${k}}`, 3600000)
      else if (name === 'rlf') await client.evalsha(sha, 1, `f:${k}`, 1, 3600)
        else
          await client.evalsha(sha, 2, `${name}:~block:{${k}}`, `${name}:fw:{${k}}`, 'l', 1)
      }
    }),
  )
  const stats = await admin.info('commandstats')
  console.log(
    name,
    Math.round(n / 1.5),
    'ops/s',
    /cmdstat_evalsha:.*usec_per_call=([\d.]+)/.exec(stats)?.[1],
    'µs/call',
  )
}
admin.disconnect()
client.disconnect()
await server.stop()
