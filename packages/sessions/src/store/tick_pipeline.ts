import { StoreFailureError, withDeadline } from '@cachekit/core'
import type { Cluster, Redis } from 'ioredis'

type Arg = string | number | Buffer

interface Queued {
  command: string
  args: Arg[]
  resolve: (value: unknown) => void
  reject: (error: unknown) => void
}

/**
 * Sends the commands made in one tick as one pipeline, with one timeout for the lot. ioredis writes
 * each command to the socket as it comes, where node-redis (under connect-redis) gathers a tick's
 * commands into one write: with 64 requests in flight that is 64 writes and replies parsed one by
 * one against one (measured in tooling/bench, bench:sessions). On a Cluster a pipeline may not cross
 * slots, so each command goes on its own there (ioredis routes it), still with a timeout.
 */
export class TickPipeline {
  private queue: Queued[] = []

  constructor(
    private readonly client: Redis | Cluster,
    private readonly timeoutMs: number,
  ) {}

  send<T>(operation: string, command: string, args: Arg[]): Promise<T> {
    if ((this.client as Cluster).isCluster)
      return this.bounded(operation, this.client.call(command, ...args)) as Promise<T>
    return new Promise<T>((resolve, reject) => {
      if (this.queue.length === 0) process.nextTick(this.flush)
      this.queue.push({ command, args, resolve: resolve as (value: unknown) => void, reject })
    })
  }

  private readonly flush = (): void => {
    const batch = this.queue
    this.queue = []
    const pipeline = (this.client as Redis).pipeline()
    for (const queued of batch) pipeline.call(queued.command, ...queued.args)
    const failAll = (cause: unknown) => {
      for (const queued of batch) queued.reject(new StoreFailureError('redis', queued.command, { cause }))
    }
    const timer = setTimeout(
      () => failAll(new Error(`no answer within ${this.timeoutMs} ms`)),
      this.timeoutMs,
    )
    pipeline.exec().then(
      (replies) => {
        clearTimeout(timer)
        for (const [i, queued] of batch.entries()) {
          const [error, value] = replies?.[i] ?? [new Error('no reply'), undefined]
          if (error) queued.reject(error)
          else queued.resolve(value)
        }
      },
      (error: unknown) => {
        clearTimeout(timer)
        failAll(error)
      },
    )
  }

  private bounded<T>(operation: string, pending: Promise<T>): Promise<T> {
    return withDeadline(pending, this.timeoutMs, 'redis', operation)
  }
}
