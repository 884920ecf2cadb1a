/**
 * The default size estimator of `memoryStore`: what one value weighs against `maxBytes` and
 * `maxValueBytes`. Bytes and strings are measured exactly (strings at 2 bytes a character, the
 * UTF-16 upper bound V8 may use). Anything else, such as the `CacheEntry` objects an L1 holds, is
 * estimated by a bounded walk, because an exact measure would cost as much as the cache saves.
 */

/** Object visits one estimate may spend; the walk never does more work than this, whatever the value. */
const VISIT_BUDGET = 256
/** Elements of one array, object, Map or Set looked at; the others are assumed to weigh the same. */
const SAMPLE = 16
/** Header of a heap object (map pointer, properties, elements) in V8, roughly. */
const OBJECT_HEADER = 16
/** One property, element or pointer slot. */
const SLOT = 8

/**
 * Estimates the bytes a value holds: exact `byteLength` for `Uint8Array`, `Buffer` and other binary
 * views, `2 * length` for strings, and for other values a walk that visits at most 256 objects and
 * at most 16 elements of each array, object, Map or Set, extrapolating the rest from that sample.
 *
 * Its cost is bounded (a few hundred nanoseconds for a `CacheEntry` around a small row), apart from
 * `Object.keys` on the objects it visits. The result is an estimate of V8 heap use, not an exact figure: pass your
 * own `sizeOf` to `memoryStore` when you know better (a length you already have, say).
 *
 * @example defaultSizeOf(createEntry('x'.repeat(10_000))) // >= 20_000
 */
export function defaultSizeOf(value: unknown): number {
  if (value instanceof Uint8Array) return value.byteLength
  if (typeof value === 'string') return value.length * 2
  return Math.ceil(estimate(value, VISIT_BUDGET))
}

function estimate(value: unknown, budget: number): number {
  switch (typeof value) {
    case 'string':
      return value.length * 2
    case 'number':
      return SLOT
    case 'boolean':
      return 4
    case 'bigint':
      return SLOT + SLOT
    case 'undefined':
      return 0
    case 'symbol':
    case 'function':
      return SLOT
  }
  if (value === null) return 0
  const object = value as object
  if (ArrayBuffer.isView(object)) return OBJECT_HEADER + object.byteLength
  if (object instanceof ArrayBuffer) return OBJECT_HEADER + object.byteLength
  // Out of budget: the object is counted by its header only, so the estimate stays a lower bound
  // rather than the walk growing with the value. Cycles end here too.
  if (budget < 1) return OBJECT_HEADER
  if (Array.isArray(object)) {
    return (
      OBJECT_HEADER + object.length * SLOT + sampled(object.length, budget, (i, b) => estimate(object[i], b))
    )
  }
  if (object instanceof Map) {
    const entries = [...takeFirst(object.entries(), SAMPLE)]
    const sample = (i: number, b: number) =>
      estimate(entries[i]![0], b >> 1) + estimate(entries[i]![1], b - (b >> 1))
    return OBJECT_HEADER + object.size * 3 * SLOT + sampled(object.size, budget, sample, entries.length)
  }
  if (object instanceof Set) {
    const values = [...takeFirst(object.values(), SAMPLE)]
    const sample = (i: number, b: number) => estimate(values[i], b)
    return OBJECT_HEADER + object.size * 2 * SLOT + sampled(object.size, budget, sample, values.length)
  }
  if (object instanceof Date) return OBJECT_HEADER + SLOT
  // A plain object. Property names are counted too: a dictionary keyed by ids holds them per entry.
  const keys = Object.keys(object)
  const record = object as Record<string, unknown>
  const sample = (i: number, b: number) => keys[i]!.length * 2 + estimate(record[keys[i]!], b)
  return OBJECT_HEADER + keys.length * SLOT + sampled(keys.length, budget, sample)
}

/**
 * Sums the sizes of up to `SAMPLE` of `length` elements and scales the sum to all of them. Elements
 * are read at evenly spread indexes, or the first ones when only those were collected (`available`,
 * for Maps and Sets, which cannot be read by index). Each gets an equal share of what is left of
 * the budget, so a walk never visits more objects than the budget it started with.
 */
function sampled(
  length: number,
  budget: number,
  sizeAt: (index: number, budget: number) => number,
  available = length,
): number {
  // Fewer samples when the budget is short, so each sampled element still gets a visit of its own.
  const count = Math.min(available, SAMPLE, Math.max(1, budget - 1))
  if (count === 0) return 0
  const childBudget = Math.floor((budget - 1) / count)
  const spread = available === length
  let total = 0
  for (let j = 0; j < count; j++) total += sizeAt(spread ? Math.floor((j * length) / count) : j, childBudget)
  return (total * length) / count
}

function* takeFirst<T>(iterator: Iterator<T>, count: number): Generator<T> {
  for (let i = 0; i < count; i++) {
    const next = iterator.next()
    if (next.done) return
    yield next.value
  }
}
