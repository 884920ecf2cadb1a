/**
 * Hit rate, latency percentiles and operation counts over the last N minutes, in fixed memory: a
 * ring of time slots, each with counters and a log-scale latency histogram (8 bins per decade from
 * 1 µs to 100 s: a percentile is reported as its bin's upper bound, at most a third above the true value).
 */

const BINS_PER_DECADE = 8
const MIN_MS = 0.001
const DECADES = 8 // 1 µs .. 100 s
const BIN_COUNT = BINS_PER_DECADE * DECADES + 1

function binOf(ms: number): number {
  if (!(ms > MIN_MS)) return 0
  return Math.min(BIN_COUNT - 1, Math.ceil(Math.log10(ms / MIN_MS) * BINS_PER_DECADE))
}

function upperBoundMs(bin: number): number {
  return MIN_MS * 10 ** (bin / BINS_PER_DECADE)
}

class Slot {
  start = -1
  hits = 0
  misses = 0
  ops = 0
  readonly latency = new Uint32Array(BIN_COUNT)

  reset(start: number): void {
    this.start = start
    this.hits = 0
    this.misses = 0
    this.ops = 0
    this.latency.fill(0)
  }
}

/** What a rolling window says about its last `windowMs`. */
export interface WindowSummary {
  /** Operations finished in the window. */
  ops: number
  /** hits / (hits + misses) of the reads in the window, `undefined` without reads. */
  hitRate: number | undefined
  /** Median and 99th percentile duration, ms (upper bound of the histogram bin), `undefined` when empty. */
  p50Ms: number | undefined
  p99Ms: number | undefined
  /** The span covered, ms. */
  windowMs: number
}

/** A rolling window over `windowMs` in slots of `slotMs`. */
export class RollingWindow {
  private readonly slots: Slot[]

  constructor(
    readonly windowMs: number,
    private readonly slotMs: number,
  ) {
    this.slots = Array.from({ length: Math.max(1, Math.ceil(windowMs / slotMs)) }, () => new Slot())
  }

  record(now: number, durationMs: number, hit: boolean | undefined): void {
    const slot = this.slotAt(now)
    slot.ops++
    if (hit === true) slot.hits++
    else if (hit === false) slot.misses++
    slot.latency[binOf(durationMs)]!++
  }

  summary(now: number): WindowSummary {
    const oldest = this.startOf(now) - (this.slots.length - 1) * this.slotMs
    let ops = 0
    let hits = 0
    let misses = 0
    const latency = new Array<number>(BIN_COUNT).fill(0)
    for (const slot of this.slots) {
      if (slot.start < oldest) continue
      ops += slot.ops
      hits += slot.hits
      misses += slot.misses
      for (let i = 0; i < BIN_COUNT; i++) latency[i]! += slot.latency[i]!
    }
    return {
      ops,
      hitRate: hits + misses === 0 ? undefined : hits / (hits + misses),
      p50Ms: percentile(latency, ops, 0.5),
      p99Ms: percentile(latency, ops, 0.99),
      windowMs: this.windowMs,
    }
  }

  private startOf(now: number): number {
    return now - (now % this.slotMs)
  }

  private slotAt(now: number): Slot {
    const start = this.startOf(now)
    const slot = this.slots[Math.floor(start / this.slotMs) % this.slots.length]!
    if (slot.start !== start) slot.reset(start)
    return slot
  }
}

function percentile(bins: number[], total: number, q: number): number | undefined {
  if (total === 0) return undefined
  const rank = Math.ceil(q * total)
  let seen = 0
  for (let i = 0; i < bins.length; i++) {
    seen += bins[i]!
    if (seen >= rank) return upperBoundMs(i)
  }
  return upperBoundMs(bins.length - 1)
}
