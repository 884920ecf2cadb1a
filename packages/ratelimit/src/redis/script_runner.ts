import { StoreFailureError } from '@cachekit/core'
import calculateSlot from 'cluster-key-slot'
import type { Cluster, Redis } from 'ioredis'
import type { DecideScript } from './decide_script.js'

type Arg = string | number

/**
 * Decisions per call. The script decides a batch in one EVALSHA: one command for ioredis to build,
 * send, time and parse instead of one per decision, and one script call for the server. Several
 * batches of a tick are in flight at once, so the client parses one batch's replies while the
 * server runs the next: one batch for all 64 callers of a tick made them take turns. With 64
 * concurrent callers (bench:ratelimit's machine): batches of 8 ~110k decisions/s, 16 ~105-155k,
 * 32 ~95-130k, 64 ~60-80k; one EVALSHA per decision, pipelined, was ~65-85k.
 */
export const BATCH_SIZE = 16

interface Queued {
  keys: string[]
  args: Arg[]
  resolve: (reply: number[]) => void
  reject: (error: unknown) => void
}

/**
 * Runs a limiter's decide script for the decisions made in one tick, in batches of BATCH_SIZE, each
 * with one timeout. On a Cluster a batch may not cross slots, so the tick's decisions are grouped
 * by slot first; each group goes to the node that serves it.
 *
 * EVALSHA first; a server that does not know the script (restarted, flushed, a new replica
 * promoted) answers NOSCRIPT, and the batch is sent again as EVAL, which loads it.
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
      this.sendInBatches(batch)
      return
    }
    const bySlot = new Map<number, Queued[]>()
    for (const queued of batch) {
      const slot = calculateSlot(queued.keys[0]!)
      const group = bySlot.get(slot)
      if (group) group.push(queued)
      else bySlot.set(slot, [queued])
    }
    for (const group of bySlot.values()) this.sendInBatches(group)
  }

  private sendInBatches(queued: Queued[]): void {
    if (queued.length <= BATCH_SIZE) this.send(queued)
    else for (let i = 0; i < queued.length; i += BATCH_SIZE) this.send(queued.slice(i, i + BATCH_SIZE))
  }

  private send(batch: Queued[]): void {
    let settled = false
    const failAll = (cause: unknown): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      for (const queued of batch) queued.reject(new StoreFailureError('redis', 'rate limit', { cause }))
    }
    const timer = setTimeout(
      () => failAll(new Error(`no answer within ${this.timeoutMs} ms`)),
      this.timeoutMs,
    )
    const keys: string[] = []
    const args: Arg[] = []
    for (const queued of batch) {
      for (const key of queued.keys) keys.push(key)
      for (const arg of queued.args) args.push(arg)
    }
    const deliver = (replies: unknown): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      const decisions = replies as number[][]
      for (const [i, queued] of batch.entries()) queued.resolve(decisions[i]!)
    }
    this.client.evalsha(this.script.sha, keys.length, ...keys, ...args).then(deliver, (error: unknown) => {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) return failAll(error)
      // Under the same timer: a call still waits no longer than the timeout.
      this.client.eval(this.script.source, keys.length, ...keys, ...args).then(deliver, failAll)
    })
  }
}
