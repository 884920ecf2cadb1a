import { createRedis } from '@cachekit/redis'
import { requireTopology } from '@cachekit/redis-harness'
import type { Cluster, Redis } from 'ioredis'
import { afterEach, inject } from 'vitest'
import { createSessions, type SessionData, type Sessions, type SessionsOptions } from '../src/index.js'

/** Everything a test opened, closed after it whatever happened. */
const closers: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined)
})

export function onCleanup(close: () => Promise<unknown>): void {
  closers.push(close)
}

export type Backend = 'memory' | 'standalone' | 'cluster' | 'sentinel'
export const backends: Backend[] = ['memory', 'standalone', 'cluster']

export function redisClient(backend: Exclude<Backend, 'memory'>): Redis | Cluster {
  const provided = inject('redis')
  const client =
    backend === 'standalone'
      ? createRedis(requireTopology(provided, 'standalone').url)
      : backend === 'cluster'
        ? createRedis({ cluster: requireTopology(provided, 'cluster').startupNodes })
        : createRedis({
            sentinels: requireTopology(provided, 'sentinel').sentinels,
            name: requireTopology(provided, 'sentinel').masterName,
          })
  onCleanup(async () => {
    if (client.status !== 'end') await client.quit().catch(() => client.disconnect())
  })
  return client
}

let prefixes = 0
/** A prefix no other test uses, so tests on one server never see each other's sessions. */
export function uniquePrefix(): string {
  return `t${process.pid}-${Date.now().toString(36)}-${prefixes++}:`
}

export function sessionsOn<Data extends SessionData = SessionData>(
  backend: Backend,
  options: Omit<SessionsOptions, 'client' | 'memory'> = {},
): { sessions: Sessions<Data>; client: Redis | Cluster | undefined } {
  const client = backend === 'memory' ? undefined : redisClient(backend)
  const sessions = createSessions<Data>({
    prefix: uniquePrefix(),
    ...options,
    ...(client ? { client, closeClient: false } : { memory: true }),
  })
  onCleanup(() => sessions.close())
  return { sessions, client }
}

/** Polls `check` until it is true or `ms` pass; resolves with the last answer. */
export async function until(check: () => boolean | Promise<boolean>, ms = 5_000): Promise<boolean> {
  const deadline = Date.now() + ms
  for (;;) {
    if (await check()) return true
    if (Date.now() > deadline) return false
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
