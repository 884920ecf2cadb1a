/**
 * express-session stores, in one run on one harness Redis: cachekit's RedisStore (ioredis) against
 * connect-redis 9 (node-redis 5, the only client it supports), 64 concurrent requests.
 *
 *   pnpm --filter @cachekit/bench bench:sessions [--quick]
 *
 * Each op is the store calls express-session makes for one request: an unmodified session is
 * `get` then `touch`; a modified one is `get` then `set`. Ours runs with its tombstone check and
 * per-property writes on (they are not optional). Results: results/sessions.md and .json.
 */
import { writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { createRedis } from '@cachekit/redis'
import { startStandalone } from '@cachekit/redis-harness'
import { RedisStore } from '@cachekit/sessions/store'
import { RedisStore as ConnectRedisStore } from 'connect-redis'
import type { SessionData, Store } from 'express-session'
import { createClient } from 'redis'
import { formatRatio, throughputTable } from '../report.js'
import { compare, type Measurement, type Subject } from '../timing.js'

const quick = process.argv.includes('--quick')
const SESSIONS = 1_000
const options = {
  concurrency: 64,
  ops: quick ? 5_000 : 30_000,
  maxMs: quick ? 300 : 800,
  samples: quick ? 2 : 7,
  warmupOps: quick ? 2_000 : 10_000,
  latencyOps: quick ? 2_000 : 10_000,
}

/** What an app keeps in a session: a user, a role, a small cart, and express-session's cookie. */
function sessionOf(i: number): SessionData {
  return {
    cookie: {
      originalMaxAge: 3_600_000,
      expires: new Date(Date.now() + 3_600_000),
      httpOnly: true,
      path: '/',
    },
    user: `user-${i}`,
    role: i % 10 === 0 ? 'admin' : 'reader',
    cart: Array.from({ length: 3 }, (_, j) => ({ sku: `sku-${i}-${j}`, quantity: j + 1 })),
    views: 0,
  } as unknown as SessionData
}

const call = <T>(fn: (done: (error?: unknown, value?: T) => void) => void) =>
  new Promise<T>((resolve, reject) => fn((error, value) => (error ? reject(error) : resolve(value as T))))

/** One request's store calls, as express-session makes them (callback style, as it calls them). */
function requests(store: Store, ids: readonly string[]) {
  return {
    read: async (i: number) => {
      const sid = ids[i % ids.length]!
      const session = await call<SessionData | null | undefined>((done) => store.get(sid, done))
      if (!session) throw new Error('[bench] a session went missing')
      await call<void>((done) => store.touch!(sid, session, done))
    },
    write: async (i: number) => {
      const sid = ids[i % ids.length]!
      const session = await call<SessionData | null | undefined>((done) => store.get(sid, done))
      if (!session) throw new Error('[bench] a session went missing')
      ;(session as unknown as { views: number }).views = i
      await call<void>((done) => store.set(sid, session, done))
    },
  }
}

const server = await startStandalone()
const ioredis = createRedis(server.url)
const nodeRedis = createClient({ url: server.url })
await nodeRedis.connect()
try {
  const ours = new RedisStore({ client: ioredis, prefix: 'ck-sess:' })
  const theirs = new ConnectRedisStore({ client: nodeRedis, prefix: 'cr-sess:' })
  const ids = Array.from({ length: SESSIONS }, (_, i) => `sid-${i}`)
  for (const [i, sid] of ids.entries()) {
    await ours.set(sid, sessionOf(i))
    await theirs.set(sid, sessionOf(i))
  }
  const ourRequests = requests(ours, ids)
  const theirRequests = requests(theirs, ids)
  const workloads: Array<{ id: string; title: string; subjects: Subject[] }> = [
    {
      id: 'get-touch',
      title: 'express-session, unmodified session: get + touch, 64 concurrent requests',
      subjects: [
        { name: 'cachekit RedisStore (ioredis)', role: 'cachekit', op: ourRequests.read },
        { name: 'connect-redis 9 (node-redis 5)', role: 'peer', op: theirRequests.read },
      ],
    },
    {
      id: 'get-set',
      title: 'express-session, modified session: get + set, 64 concurrent requests',
      subjects: [
        { name: 'cachekit RedisStore (ioredis)', role: 'cachekit', op: ourRequests.write },
        { name: 'connect-redis 9 (node-redis 5)', role: 'peer', op: theirRequests.write },
      ],
    },
  ]
  const startLoad = loadavg()[0]!
  const results: Array<{ id: string; title: string; measurements: Measurement[] }> = []
  for (const workload of workloads) {
    process.stderr.write(`[bench] ${workload.id} ...\n`)
    results.push({ ...workload, measurements: await compare(workload.subjects, options) })
  }
  const endLoad = loadavg()[0]!
  const lines = [
    '# Sessions: express-session stores',
    '',
    `One run, one harness Redis (${server.url.replace(/:\d+$/, ':<port>')}), ${SESSIONS} sessions of about 250 bytes in each store, ${options.concurrency} concurrent requests; load average ${startLoad.toFixed(2)} → ${endLoad.toFixed(2)}${quick ? ' (quick mode: fewer, shorter samples)' : ''}.`,
    'Each op is what express-session asks of its store for one request. cachekit runs with its logout tombstone and per-property writes (always on); connect-redis 9 writes whole JSON strings and supports node-redis only.',
    '',
  ]
  for (const result of results) {
    const table = throughputTable(result.measurements)
    const ourOps = result.measurements[0]!.opsPerSec
    const theirOps = result.measurements[1]!.opsPerSec
    lines.push(
      `## ${result.title}`,
      '',
      `| ${table.columns.join(' | ')} |`,
      `| ${table.columns.map(() => '---').join(' | ')} |`,
    )
    for (const row of table.rows) lines.push(`| ${row.join(' | ')} |`)
    lines.push(
      '',
      `cachekit ÷ connect-redis: **${formatRatio(ourOps / theirOps)}** (goal: at least 1.2x).`,
      '',
    )
  }
  const out = new URL(`../../results/sessions${quick ? '-quick' : ''}`, import.meta.url).pathname
  writeFileSync(`${out}.md`, `${lines.join('\n')}\n`)
  writeFileSync(
    `${out}.json`,
    `${JSON.stringify({ load: [startLoad, endLoad], options, results }, null, 2)}\n`,
  )
  process.stdout.write(`${lines.join('\n')}\n`)
} finally {
  ioredis.disconnect()
  await nodeRedis.quit()
  await server.stop()
}
