/**
 * A writer process for the crash test: `WRITES` writes over `KEYS` keys, `CONCURRENCY` at a time,
 * consuming (flushing to Postgres) as it goes. On stdout: `ack <key> <n> <version>` once each
 * `write` resolved, and `flushing <records>` when a sink call starts; the call then waits for a `go`
 * line on stdin, so the test can SIGKILL it with a batch delivered and not yet acknowledged.
 *
 * Env: REDIS_URL, DATABASE_URL, TABLE, STREAM, WRITES, KEYS, CONCURRENCY.
 */
import { createInterface } from 'node:readline'
import { createRedis } from '@cachekit/redis'
import pg from 'pg'
import { postgresSink, writeBehind } from '../../../src/index.js'

const env = (name: string): string => {
  const value = process.env[name]
  if (!value) throw new Error(`[writer] ${name} is not set`)
  return value
}

const writes = Number(env('WRITES'))
const keys = Number(env('KEYS'))
const concurrency = Number(env('CONCURRENCY'))
const pool = new pg.Pool({ connectionString: env('DATABASE_URL'), max: 2 })
const rows = postgresSink<{ n: number }>({ client: pool, table: env('TABLE') })
const goes: Array<() => void> = []
createInterface({ input: process.stdin }).on('line', () => goes.shift()?.())
const queue = writeBehind<{ n: number }>({
  client: createRedis(env('REDIS_URL')),
  stream: env('STREAM'),
  consumer: 'first-writer',
  sink: {
    async writeBatch(records) {
      const go = new Promise<void>((resolve) => goes.push(resolve))
      process.stdout.write(`flushing ${records.length}\n`)
      await go
      await rows.writeBatch(records)
    },
  },
  batchSize: 200,
  flushInterval: '20ms',
  trimAcknowledged: false,
  maxLag: Number.POSITIVE_INFINITY,
  on: { error: (error) => process.stderr.write(`[writer] ${error.message}\n`) },
})
await queue.ready()

let next = 0
async function lane(): Promise<void> {
  while (next < writes) {
    const n = next++
    const key = `key:${n % keys}`
    const { version } = await queue.write(key, { n })
    process.stdout.write(`ack ${key} ${n} ${version}\n`)
  }
}
await Promise.all(Array.from({ length: concurrency }, lane))
process.stdout.write('done\n')
// Normally never reached: the test kills this process before it gets here.
await queue.close()
await pool.end()
