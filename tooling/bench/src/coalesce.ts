/**
 * An information-only raw reference: every `getBuffer` issued in one tick goes to Redis as one MGET.
 * It shows how much of an L2 get is the per-command socket write, which batching removes.
 */
import type { Redis } from 'ioredis'

interface Waiter {
  key: string
  resolve: (value: Buffer | null) => void
  reject: (error: unknown) => void
}

export function coalescedGetBuffer(redis: Redis): (key: string) => Promise<Buffer | null> {
  let pending: Waiter[] = []
  const flush = () => {
    const batch = pending
    pending = []
    redis.mgetBuffer(...batch.map((waiter) => waiter.key)).then(
      (values) => {
        for (let i = 0; i < batch.length; i++) batch[i]!.resolve(values[i] ?? null)
      },
      (error: unknown) => {
        for (const waiter of batch) waiter.reject(error)
      },
    )
  }
  return (key) =>
    new Promise((resolve, reject) => {
      if (pending.length === 0) process.nextTick(flush)
      pending.push({ key, resolve, reject })
    })
}
