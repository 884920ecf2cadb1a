import { type ScriptArg, type ScriptBatcher, scriptBatcher } from '@cachekit/core'
import calculateSlot from 'cluster-key-slot'
import type { Cluster, Redis } from 'ioredis'
import type { DecideScript } from './decide_script.js'

interface Decision {
  keys: string[]
  args: ScriptArg[]
}

/**
 * Decisions per call. The script decides a batch in one EVALSHA: one command for ioredis to build,
 * send, time and parse instead of one per decision, and one script call for the server. Several
 * batches of a tick are in flight at once, so the client parses one batch's replies while the
 * server runs the next: one batch for all 64 callers of a tick made them take turns. With 64
 * concurrent callers (bench:ratelimit's machine): batches of 8 ~110k decisions/s, 16 ~105-155k,
 * 32 ~95-130k, 64 ~60-80k; one EVALSHA per decision, pipelined, was ~65-85k.
 */
export const BATCH_SIZE = 16

/**
 * Runs a limiter's decide script for the decisions made in one tick, BATCH_SIZE to a call (by slot
 * on a Cluster), each call under one timeout, with core's `scriptBatcher`.
 */
export class ScriptRunner {
  private readonly batcher: ScriptBatcher<Decision>

  constructor(client: Redis | Cluster, script: DecideScript, timeoutMs: number) {
    const cluster = (client as Cluster).isCluster === true
    this.batcher = scriptBatcher<Decision>({
      client,
      script,
      timeoutMs,
      batchSize: BATCH_SIZE,
      ...(cluster ? { slotOf: (decision: Decision) => calculateSlot(decision.keys[0]!) } : {}),
      encode: (decision, keys, args) => {
        for (const key of decision.keys) keys.push(key)
        for (const arg of decision.args) args.push(arg)
      },
      nameOf: () => 'rate limit',
    })
  }

  run(keys: string[], args: ScriptArg[]): Promise<number[]> {
    return this.batcher.run<number[]>({ keys, args })
  }
}
