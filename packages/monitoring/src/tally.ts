/**
 * Plain counters keyed by up to four label values. Events fire on every cache read, so counting
 * is a Map lookup and an addition; prom-client's own `inc(labels)` hashes a label object per call,
 * which costs several times a memory-cache hit. The totals reach prom-client at scrape time.
 */
export class Tally {
  private readonly rows = new Map<string, { values: [string, string, string, string]; count: number }>()

  inc(n: number, a: string, b = '', c = '', d = ''): void {
    const key = `${a}\u0000${b}\u0000${c}\u0000${d}`
    const row = this.rows.get(key)
    if (row) row.count += n
    else this.rows.set(key, { values: [a, b, c, d], count: n })
  }

  /** Each row's label values (as many as were given) and its count. */
  *entries(): IterableIterator<readonly [readonly [string, string, string, string], number]> {
    for (const row of this.rows.values()) yield [row.values, row.count]
  }
}
