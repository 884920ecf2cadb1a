import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CacheError } from '../errors.js'
import type { TagIndex } from '../tag_index.js'

/** How to run the TagIndex contract suite against one implementation. */
export interface TagIndexContractOptions {
  /** Creates a fresh, empty index for one test. Called before every test; closed after it. */
  createIndex: () => TagIndex | Promise<TagIndex>
  /** How many tags the bulk case invalidates and reads in one call; defaults to 10,000. */
  bulkTagCount?: number
}

/** A fixed, realistic clock reading, so times in the cases look like `Date.now()`. */
const T = 1_700_000_000_000

/**
 * The one test suite every `TagIndex` must pass: unknown tags read 0, times only move forward (so
 * two processes with slightly different clocks never un-invalidate a tag), batches keep their order,
 * odd tag strings are plain strings, concurrent invalidations settle on the latest time, and a closed
 * index rejects with `E_STORE_CLOSED`. Call it inside a test file; third-party indexes can run it too.
 *
 * @example
 * tagIndexContractSuite('memory', { createIndex: () => memoryTagIndex() })
 */
export function tagIndexContractSuite(name: string, options: TagIndexContractOptions): void {
  const bulkTagCount = options.bulkTagCount ?? 10_000

  describe(`TagIndex contract: ${name}`, () => {
    let index: TagIndex

    beforeEach(async () => {
      index = await options.createIndex()
    })

    afterEach(async () => {
      await index.close?.().catch(() => undefined)
    })

    it('reads 0 for tags never invalidated', async () => {
      expect(await index.invalidatedAt(['never', 'invalidated'])).toEqual([0, 0])
    })

    it('records the time of an invalidation', async () => {
      await index.invalidate(['products'], T)
      expect(await index.invalidatedAt(['products'])).toEqual([T])
    })

    it('moves a tag forward to a later time', async () => {
      await index.invalidate(['products'], T)
      await index.invalidate(['products'], T + 5_000)
      expect(await index.invalidatedAt(['products'])).toEqual([T + 5_000])
    })

    it('never moves a tag back: an older time keeps the newer one', async () => {
      // Two processes whose clocks differ a little: the slower one's invalidation arrives last.
      await index.invalidate(['products', 'users'], T + 1_000)
      await index.invalidate(['products'], T)
      await index.invalidate(['users'], T + 1_000)
      expect(await index.invalidatedAt(['products', 'users'])).toEqual([T + 1_000, T + 1_000])
    })

    it('invalidates many tags at once and reads them in the order asked, repeats included', async () => {
      await index.invalidate(['a', 'b', 'c'], T)
      await index.invalidate(['b'], T + 1)
      expect(await index.invalidatedAt(['c', 'missing', 'b', 'a', 'b', 'missing'])).toEqual([
        T,
        0,
        T + 1,
        T,
        T + 1,
        0,
      ])
    })

    it('accepts a tag repeated within one invalidation', async () => {
      await index.invalidate(['dup', 'dup', 'other', 'dup'], T)
      expect(await index.invalidatedAt(['dup', 'other'])).toEqual([T, T])
    })

    it('does nothing for an empty list of tags, and reads an empty list as []', async () => {
      await index.invalidate([], T)
      expect(await index.invalidatedAt([])).toEqual([])
    })

    it('treats glob characters, separators, hash-tag braces, unicode and "" as plain strings', async () => {
      const tags = ['*', 'user:*', 'a?c', '[abc]', 'a\\b', 'x:y:z', '{slot}', '{}', 'a{b}c', 'ünïcødé:🏷️', '']
      for (const [i, tag] of tags.entries()) await index.invalidate([tag], T + i)
      expect(await index.invalidatedAt(tags)).toEqual(tags.map((_, i) => T + i))
      // None of them widened into another tag: look-alikes stay untouched.
      expect(await index.invalidatedAt(['user:42', 'abc', 'a', 'b', 'slot', 'x', 'ünïcødé'])).toEqual([
        0, 0, 0, 0, 0, 0, 0,
      ])
    })

    it('settles concurrent invalidations of one tag on the latest time', async () => {
      const times = Array.from({ length: 50 }, (_, i) => T + ((i * 37) % 50))
      await Promise.all(times.map((at) => index.invalidate(['hot', `own:${at}`], at)))
      expect(await index.invalidatedAt(['hot'])).toEqual([Math.max(...times)])
    })

    it(`invalidates and reads ${bulkTagCount} tags in one call`, async () => {
      const tags = Array.from({ length: bulkTagCount }, (_, i) => `bulk:${i}`)
      await index.invalidate(tags, T)
      const times = await index.invalidatedAt([...tags, 'bulk:missing'])
      expect(times).toHaveLength(bulkTagCount + 1)
      expect(times.slice(0, bulkTagCount).every((time) => time === T)).toBe(true)
      expect(times[bulkTagCount]).toBe(0)
    })

    it('rejects with E_STORE_CLOSED once closed', async () => {
      if (!index.close) return
      await index.close()
      await expect(index.invalidate(['t'], T)).rejects.toSatisfy((error) =>
        CacheError.hasCode(error, 'E_STORE_CLOSED'),
      )
      await expect(index.invalidatedAt(['t'])).rejects.toSatisfy((error) =>
        CacheError.hasCode(error, 'E_STORE_CLOSED'),
      )
      await index.close() // closing twice is harmless
    })
  })
}
