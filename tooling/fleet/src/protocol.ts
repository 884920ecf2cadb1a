/** What the test process asks a worker process to do, over the IPC channel. */
export type WorkerRequest =
  | {
      id: number
      op: 'getOrSet'
      key: string
      concurrency: number
      factoryDelayMs: number
      counterKey: string
    }
  | { id: number; op: 'get'; key: string }
  | { id: number; op: 'set'; key: string; value: string; tags?: string[] }
  | { id: number; op: 'invalidateTags'; tags: string[] }
  | { id: number; op: 'has'; key: string }
  | { id: number; op: 'delete'; key: string }
  | { id: number; op: 'inL1'; key: string }
  /** `writeThrough` to a source that is a Redis hash (`sourceKey`), failing when `fail` is set. */
  | { id: number; op: 'writeThrough'; key: string; value: string; sourceKey: string; fail: boolean }
  | { id: number; op: 'stats' }
  | { id: number; op: 'close' }

/** A worker's answer to one request. */
export type WorkerReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string }

/** How a worker builds its cache, passed in its environment as JSON. */
export interface WorkerConfig {
  redisUrl: string
  prefix: string
  lock: 'local' | 'distributed'
  /** Start time (ms since the epoch) all workers wait for, so their calls start together. */
  startAt?: number
}
