import type { BusMessage } from '@cachekit/core'
import type { Cluster, Redis } from 'ioredis'
import type { RedisBus, RedisBusLoss } from '../src/index.js'

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls until `check` returns true; fails with `what` after `timeoutMs`. Every wait in these tests is bounded. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return
    await sleep(20)
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
}

/** A handler that keeps what it receives. */
export function recorder<T = unknown>() {
  const messages: BusMessage<T>[] = []
  const handler = (message: BusMessage<T>) => {
    messages.push(message)
  }
  return { messages, handler, payloads: () => messages.map((message) => message.payload) }
}

/** Everything a bus reports through `onLoss` and `onError`. */
export function watch(bus: RedisBus) {
  const losses: RedisBusLoss[] = []
  const errors: Error[] = []
  bus.onLoss((loss) => losses.push(loss))
  bus.onError((error) => errors.push(error))
  return { losses, errors }
}

/** A message in the wire format, as another language (or a buggy sender) would publish it. */
export function rawEnvelope(instanceId: string, seq: number, payload: unknown): string {
  return JSON.stringify(['ck1', instanceId, seq, Date.now(), payload])
}

/** Closes buses and clients whatever happened in the test. */
export function resources() {
  const closers: Array<() => Promise<unknown>> = []
  return {
    bus<B extends RedisBus>(bus: B): B {
      closers.push(() => bus.close())
      return bus
    },
    client<C extends Redis | Cluster>(client: C): C {
      // Raw test clients see their server killed in the reconnect tests; ioredis would print each error.
      client.on('error', () => undefined)
      closers.push(async () => {
        if (client.status !== 'end') await client.quit().catch(() => client.disconnect())
      })
      return client
    },
    async closeAll() {
      for (const close of closers.splice(0).reverse()) await close().catch(() => undefined)
    },
  }
}

/** The bus' subscriber connections as `CLIENT LIST` shows them on one server. */
export async function busConnections(redis: Redis, instanceId: string) {
  const list = (await redis.client('LIST')) as string
  return list
    .split('\n')
    .filter((line) => line.includes(` name=cachekit-bus:${instanceId} `))
    .map((line) =>
      Object.fromEntries(line.split(' ').map((field) => field.split('=', 2) as [string, string])),
    )
}
