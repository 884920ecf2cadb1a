/**
 * A steady load: `rate` writes per second for `seconds`, paced by the clock (not by how fast writes
 * return), while the lag is sampled every `sampleMs`. What a user sizes `maxLag` and the sink by.
 */
import type { WriteBehind } from '@cachekit/patterns'
import { percentile } from '../timing.js'

export interface SteadyResult {
  rate: number
  seconds: number
  written: number
  /** Writes per second actually issued and resolved over the run. */
  achieved: number
  writeP50Us: number
  writeP99Us: number
  lagP50: number
  lagP99: number
  lagMax: number
  /** From the last write resolving to every entry being in the sink. */
  drainMs: number
  /** The last receipt per key, to check the sink against. */
  last: Map<string, { version: string; n: number }>
}

export async function steadyLoad(
  queue: WriteBehind<{ n: number }>,
  options: { rate: number; seconds: number; keys: number; sampleMs: number },
): Promise<SteadyResult> {
  const { rate, seconds, keys, sampleMs } = options
  const total = rate * seconds
  const latencies = new Float64Array(total)
  const lags: number[] = []
  const last = new Map<string, { version: string; n: number }>()
  const inflight = new Set<Promise<void>>()
  let issued = 0
  let resolved = 0
  const start = performance.now()

  const sampler = (async () => {
    while (issued < total) {
      lags.push(await queue.lag())
      await new Promise((resolve) => setTimeout(resolve, sampleMs))
    }
  })()

  while (issued < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate))
    for (; issued < due; issued++) {
      const n = issued
      const key = `k${n % keys}`
      const t0 = performance.now()
      const write = queue.write(key, { n }).then(({ version }) => {
        latencies[resolved++] = (performance.now() - t0) * 1000
        const seen = last.get(key)
        if (!seen || seen.n < n) last.set(key, { version, n })
      })
      inflight.add(write)
      void write.finally(() => inflight.delete(write))
    }
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  await Promise.all(inflight)
  const writtenAt = performance.now()
  await sampler
  await queue.flush()
  const drainMs = performance.now() - writtenAt
  const sortedLatencies = latencies.subarray(0, resolved).sort()
  const sortedLags = [...lags].sort((a, b) => a - b)
  return {
    rate,
    seconds,
    written: resolved,
    achieved: resolved / ((writtenAt - start) / 1000),
    writeP50Us: percentile(sortedLatencies, 50),
    writeP99Us: percentile(sortedLatencies, 99),
    lagP50: percentile(sortedLags, 50),
    lagP99: percentile(sortedLags, 99),
    lagMax: sortedLags.at(-1) ?? 0,
    drainMs,
    last,
  }
}
