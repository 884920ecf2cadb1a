/**
 * The timing harness: one method for every library, so the numbers compare.
 *
 * - Every operation, sync or async, is called the same way: `await op(i)` in a loop, by
 *   `concurrency` workers that share one counter. A sync result is awaited too (one microtask),
 *   exactly as an async cache's caller would.
 * - Warmup first, then `samples` timed batches per subject, interleaved across subjects (subject A
 *   sample 1, subject B sample 1, ..., then sample 2 in rotated order), so drift, GC and a noisy
 *   neighbour hit every subject alike. Each batch is bounded by an op count and by time.
 * - Throughput is the median of the samples. Latency percentiles come from a separate pass that
 *   stamps every op with `process.hrtime.bigint()`, so the stamping never slows the throughput pass.
 */

export type Op = (i: number) => unknown

export interface Subject {
  /** Shown in the tables, e.g. `cachekit`, `bentocache`, `raw ioredis GET + unpack`. */
  name: string
  /**
   * cachekit, a peer library, a raw reference (the least any cache must do), or the server's own
   * benchmark tool (`redis-benchmark`, not timed by this harness).
   */
  role: 'cachekit' | 'peer' | 'raw' | 'server'
  op: Op
  /** Shown under the table: how the subject is set up, when it matters. */
  note?: string
  /**
   * The workload's like-for-like raw reference: the same work done with the bare libraries, the
   * row the workload's target is judged against. One per workload at most.
   */
  reference?: boolean
}

export interface RunOptions {
  concurrency: number
  /** Ops per timed sample (upper bound). */
  ops: number
  /** Time bound per sample, ms. */
  maxMs: number
  samples: number
  warmupOps: number
  /** Ops of the latency pass; 0 skips it. */
  latencyOps: number
}

export interface Measurement {
  name: string
  role: Subject['role']
  note?: string
  /** The workload's like-for-like reference (see `Subject.reference`). */
  reference?: boolean
  /** Median ops/s over the samples. */
  opsPerSec: number
  /** Every sample's ops/s, for the JSON. */
  sampleOpsPerSec: number[]
  /** Median latency, µs (from the latency pass). */
  p50Us?: number
  p99Us?: number
}

const gc = (globalThis as { gc?: () => void }).gc

export async function runBatch(op: Op, concurrency: number, maxOps: number, maxMs: number): Promise<number> {
  let next = 0
  let done = 0
  let stop = false
  const start = process.hrtime.bigint()
  const deadline = start + BigInt(Math.round(maxMs * 1e6))
  const worker = async () => {
    while (!stop) {
      const i = next++
      if (i >= maxOps) return
      await op(i)
      done++
      if ((done & 127) === 0 && process.hrtime.bigint() > deadline) stop = true
    }
  }
  const workers: Array<Promise<void>> = []
  for (let w = 0; w < concurrency; w++) workers.push(worker())
  await Promise.all(workers)
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  return done / seconds
}

async function runLatency(op: Op, concurrency: number, count: number, maxMs: number): Promise<Float64Array> {
  const timings = new Float64Array(count)
  let next = 0
  let done = 0
  let stop = false
  const deadline = process.hrtime.bigint() + BigInt(Math.round(maxMs * 1e6))
  const worker = async () => {
    while (!stop) {
      const i = next++
      if (i >= count) return
      const t0 = process.hrtime.bigint()
      await op(i)
      const t1 = process.hrtime.bigint()
      timings[done++] = Number(t1 - t0) / 1000
      if (t1 > deadline) stop = true
    }
  }
  const workers: Array<Promise<void>> = []
  for (let w = 0; w < concurrency; w++) workers.push(worker())
  await Promise.all(workers)
  return timings.subarray(0, done).sort()
}

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[index]!
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** Measures every subject with the same method, interleaved; see the file comment. */
export async function compare(subjects: readonly Subject[], options: RunOptions): Promise<Measurement[]> {
  const samples = subjects.map(() => [] as number[])
  for (const subject of subjects) {
    await runBatch(subject.op, options.concurrency, options.warmupOps, options.maxMs)
  }
  for (let s = 0; s < options.samples; s++) {
    for (let j = 0; j < subjects.length; j++) {
      const index = (j + s) % subjects.length
      gc?.()
      samples[index]!.push(
        await runBatch(subjects[index]!.op, options.concurrency, options.ops, options.maxMs),
      )
    }
  }
  const results: Measurement[] = []
  for (const [index, subject] of subjects.entries()) {
    const result: Measurement = {
      name: subject.name,
      role: subject.role,
      opsPerSec: median(samples[index]!),
      sampleOpsPerSec: samples[index]!.map(Math.round),
    }
    if (subject.note) result.note = subject.note
    if (subject.reference) result.reference = true
    if (options.latencyOps > 0) {
      gc?.()
      const sorted = await runLatency(subject.op, options.concurrency, options.latencyOps, options.maxMs * 2)
      result.p50Us = percentile(sorted, 50)
      result.p99Us = percentile(sorted, 99)
    }
    results.push(result)
  }
  return results
}

/**
 * Synchronous ops (codecs) measured in a plain loop, interleaved like `compare`: sample s of every
 * op, in rotating order, then sample s + 1. Median ns per op of each.
 */
export function compareSync(
  ops: ReadonlyArray<(i: number) => unknown>,
  count: number,
  samples: number,
  maxMs: number,
): number[] {
  const perOp = ops.map(() => [] as number[])
  for (const op of ops) measureSync(op, Math.min(count, 2000), 1, maxMs)
  for (let s = 0; s < samples; s++) {
    for (let j = 0; j < ops.length; j++) {
      const index = (j + s) % ops.length
      perOp[index]!.push(measureSync(ops[index]!, count, 1, maxMs))
    }
  }
  return perOp.map(median)
}

/** A synchronous op measured in a plain loop: median ns per op over the samples. */
export function measureSync(op: (i: number) => unknown, ops: number, samples: number, maxMs: number): number {
  const deadlineNs = BigInt(Math.round(maxMs * 1e6))
  let sink: unknown
  for (let i = 0; i < Math.min(ops, 200); i++) sink = op(i)
  const perOp: number[] = []
  for (let s = 0; s < samples; s++) {
    gc?.()
    const start = process.hrtime.bigint()
    let done = 0
    while (done < ops) {
      sink = op(done)
      done++
      if ((done & 31) === 0 && process.hrtime.bigint() - start > deadlineNs) break
    }
    perOp.push(Number(process.hrtime.bigint() - start) / done)
  }
  if (sink === Symbol.for('never')) console.log(sink)
  return median(perOp)
}
