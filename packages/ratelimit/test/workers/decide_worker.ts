// One app process of the exactness tests: `callers` concurrent loops deciding against every
// algorithm's limiter on one shared key, until `durationMs` pass or `maxCalls` are made. It sends
// back every allowed decision's Redis time. With `skewMs`, this process's wall clock is wrong.
import { createRedis } from '@cachekit/redis'
import { type Algorithm, createRateLimiter, type RateLimiter } from '../../src/index.js'

export interface WorkerConfig {
  connection: { url: string } | { cluster: Array<{ host: string; port: number }> }
  prefix: string
  key: string
  algorithms: Algorithm[]
  limit: number
  windowMs: number
  callers: number
  durationMs: number
  maxCalls: number
  skewMs: number
}

export interface Allowed {
  algorithm: Algorithm
  decidedAt: number
  resetMs: number
}

const config = JSON.parse(process.env.DECIDE_WORKER_CONFIG ?? '{}') as WorkerConfig
if (config.skewMs !== 0) {
  const realNow = Date.now.bind(Date)
  Date.now = () => realNow() + config.skewMs
}

const client =
  'url' in config.connection ? createRedis(config.connection.url) : createRedis(config.connection)
const limiters = new Map<Algorithm, RateLimiter>(
  config.algorithms.map((algorithm) => [
    algorithm,
    createRateLimiter({
      client,
      closeClient: false,
      prefix: config.prefix,
      onRedisDown: 'fail-closed',
      timeout: '5s',
      name: algorithm,
      algorithm,
      limit: config.limit,
      window: config.windowMs,
    }),
  ]),
)

process.on('message', async (message: { go: number }) => {
  const startAt = message.go
  while (Date.now() - config.skewMs < startAt) await new Promise((resolve) => setTimeout(resolve, 1))
  const deadline = performance.now() + config.durationMs
  const allowed: Allowed[] = []
  let calls = 0
  let failures = 0
  const caller = async () => {
    while (performance.now() < deadline && calls < config.maxCalls) {
      calls++
      const results = await Promise.all(
        config.algorithms.map((algorithm) => limiters.get(algorithm)!.limit(config.key)),
      )
      for (const result of results) {
        if (result.source !== 'redis') failures++
        else if (result.allowed)
          allowed.push({
            algorithm: result.policy as Algorithm,
            decidedAt: result.decidedAt,
            resetMs: result.resetMs,
          })
      }
    }
  }
  await Promise.all(Array.from({ length: config.callers }, caller))
  process.send?.({ allowed, calls, failures }, () => {
    void client.quit().then(() => process.exit(0))
  })
})
process.send?.('ready')
