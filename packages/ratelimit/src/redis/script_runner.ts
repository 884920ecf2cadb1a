import { StoreFailureError } from '@cachekit/core'
import calculateSlot from 'cluster-key-slot'
import type { Cluster, Redis } from 'ioredis'
import type { DecideScript } from './decide_script.js'

type Arg = string | number

/**
 * Decisions per pipeline. One pipeline for a whole tick makes the client and the server take turns
 * (the server runs 64 scripts while the client waits, then the client parses 64 replies while the
 * server waits); pipelines of 16 overlap the two. With 64 concurrent callers: 45-50k decisions/s
 * as one pipeline, 83-88k in pipelines of 16, 60-70k in pipelines of 8 (bench:ratelimit's machine).
 */
const PIPELINE_SIZE = 16

interface Queued {
  keys: string[]
  args: Arg[]
  resolve: (reply: number[]) => void
  reject: (error: unknown) => void
}

/**
 * Runs a limiter's decide script. The decisions of one tick go out as pipelines (per hash slot, of
 * at most PIPELINE_SIZE), with one timeout per pipeline: ioredis alone writes and times each
 * command on its own, and a pipeline costs the client less per decision (measured in tooling/bench,
 * bench:ratelimit). On a Cluster a pipeline may not cross slots, so the tick's decisions are grouped
 * by slot; each group goes to the node that serves it.
 *
 * EVALSHA first; a server that does not know the script (restarted, flushed, a new replica
 * promoted) answers NOSCRIPT, and that decision is sent again as EVAL, which loads it.
 */
export class ScriptRunner {
  private queue: Queued[] = []
  private readonly cluster: boolean

  constructor(
    private readonly client: Redis | Cluster,
    private readonly script: DecideScript,
    private readonly timeoutMs: number,
  ) {
    this.cluster = (client as Cluster).isCluster === true
  }

  run(keys: string[], args: Arg[]): Promise<number[]> {
    return new Promise<number[]>((resolve, reject) => {
      if (this.queue.length === 0) process.nextTick(this.flush)
      this.queue.push({ keys, args, resolve, reject })
    })
  }

  private readonly flush = (): void => {
    const batch = this.queue
    this.queue = []
    if (!this.cluster) {
      if (batch.length <= PIPELINE_SIZE) this.send(batch)
      else for (let i = 0; i < batch.length; i += PIPELINE_SIZE) this.send(batch.slice(i, i + PIPELINE_SIZE))
      return
    }
    const bySlot = new Map<number, Queued[]>()
    for (const queued of batch) {
      const slot = calculateSlot(queued.keys[0]!)
      const group = bySlot.get(slot)
      if (group) group.push(queued)
      else bySlot.set(slot, [queued])
    }
    for (const group of bySlot.values()) this.send(group)
  }

  private send(batch: Queued[]): void {
    let settled = false
    const failAll = (cause: unknown): void => {
      if (settled) return
      settled = true
      for (const queued of batch) queued.reject(new StoreFailureError('redis', 'rate limit', { cause }))
    }
    const timer = setTimeout(
      () => failAll(new Error(`no answer within ${this.timeoutMs} ms`)),
      this.timeoutMs,
    )
    const pipeline = this.client.pipeline()
    for (const queued of batch)
      pipeline.evalsha(this.script.sha, queued.keys.length, ...queued.keys, ...queued.args)
    pipeline.exec().then(
      (replies) => {
        if (settled) return
        const reloads: Array<Promise<void>> = []
        for (const [i, queued] of batch.entries()) {
          const [error, reply] = replies?.[i] ?? [new Error('no reply'), undefined]
          if (error === null) queued.resolve(reply as number[])
          else if (error.message.startsWith('NOSCRIPT')) reloads.push(this.evalOne(queued))
          else queued.reject(new StoreFailureError('redis', 'rate limit', { cause: error }))
        }
        if (reloads.length === 0) {
          settled = true
          clearTimeout(timer)
          return
        }
        // The EVALs run under the batch's timer: a call still waits no longer than the timeout.
        Promise.all(reloads).then(() => {
          settled = true
          clearTimeout(timer)
        })
      },
      (error: unknown) => {
        clearTimeout(timer)
        failAll(error)
      },
    )
  }

  private evalOne(queued: Queued): Promise<void> {
    return this.client.eval(this.script.source, queued.keys.length, ...queued.keys, ...queued.args).then(
      (reply) => queued.resolve(reply as number[]),
      (error: unknown) => queued.reject(new StoreFailureError('redis', 'rate limit', { cause: error })),
    )
  }
}
