/**
 * What the workloads read and write: the same values, keys and operation sequences for every
 * library, made from a seeded generator so two runs measure the same thing.
 */

/** A small, fast, seeded PRNG (mulberry32): deterministic key and operation sequences. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

/** A user-profile-like object of about 1 KB as JSON, the value of the L2 and tiered workloads. */
export function objectOf1Kb(id: number): Record<string, unknown> {
  return {
    id,
    uuid: `9b2f${id.toString(16).padStart(8, '0')}-4c1e-4a7b-9f3e-2d8c51a7e0b4`,
    name: `User number ${id}`,
    email: `user.${id}@example.com`,
    active: id % 3 !== 0,
    score: (id * 7.31) % 1000,
    createdAt: '2025-01-17T09:24:11.512Z',
    roles: ['reader', 'writer', id % 5 === 0 ? 'admin' : 'member'],
    address: {
      street: `${id} Long Example Avenue`,
      city: 'Springfield',
      zip: String(10_000 + (id % 89_999)),
      country: 'US',
    },
    preferences: { theme: 'dark', language: 'en-US', notifications: { email: true, sms: false, push: true } },
    bio: 'Writes software, reads books, and drinks too much coffee. Has opinions about caching, cache invalidation and naming things, and shares them freely with anyone who stands still long enough.',
    tags: ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta'],
    counters: { logins: id * 3, posts: id % 400, followers: id * 11, following: id % 250 },
    lastSeen: 1_737_000_000_000 + id,
    links: {
      homepage: `https://example.com/users/${id}`,
      avatar: `https://cdn.example.com/avatars/${id}/large.png`,
      feed: `https://example.com/users/${id}/feed.atom`,
    },
    locale: { timezone: 'America/Chicago', currency: 'USD', firstDayOfWeek: 1 },
  }
}

/** A small object: the value of the memory-per-entry measurement. */
export function smallObject(id: number): { id: number; name: string; active: boolean } {
  return { id, name: `user-${id}`, active: (id & 1) === 0 }
}

/** A document of about 10 KB as JSON: an order with line items, text and nested objects. */
export function document10Kb(): Record<string, unknown> {
  const random = seededRandom(10)
  const items = Array.from({ length: 50 }, (_, i) => ({
    sku: `SKU-${(100_000 + i * 37).toString(36).toUpperCase()}`,
    title: `Item ${i}: a reasonably descriptive product title`,
    quantity: 1 + (i % 4),
    unitPrice: Math.round(random() * 100_000) / 100,
    discount: i % 5 === 0 ? 0.1 : 0,
    attributes: { color: ['red', 'green', 'blue'][i % 3], size: ['S', 'M', 'L', 'XL'][i % 4] },
  }))
  return {
    id: 'order-2025-000123',
    customer: objectOf1Kb(42),
    status: 'shipped',
    items,
    notes: 'Leave the parcel with the neighbour if nobody answers. '.repeat(8),
    history: Array.from({ length: 12 }, (_, i) => ({
      at: 1_737_000_000_000 + i * 60_000,
      event: `step-${i}`,
    })),
  }
}

/** An embedding as an API returns it: 1,536 floats in a plain array. */
export function embedding(): number[] {
  const random = seededRandom(1536)
  return Array.from({ length: 1536 }, () => random() * 2 - 1)
}

/**
 * A Zipf sampler over `n` ranks with exponent `s`: rank 0 is the most popular. Inverse-CDF lookup
 * by binary search over precomputed cumulative weights.
 */
export function zipfSampler(n: number, s: number, random: () => number): () => number {
  const cdf = new Float64Array(n)
  let total = 0
  for (let k = 0; k < n; k++) {
    total += 1 / (k + 1) ** s
    cdf[k] = total
  }
  for (let k = 0; k < n; k++) cdf[k]! /= total
  return () => {
    const u = random()
    let lo = 0
    let hi = n - 1
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (cdf[mid]! < u) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}

/** `count` keys `prefix0`, `prefix1`, ... made once, so no workload times string building. */
export function keys(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${i}`)
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
