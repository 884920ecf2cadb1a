import { CacheError, isInvalidatedByTags } from '@cachekit/core'
import { tagIndexContractSuite } from '@cachekit/core/testing'
import { describe, expect, it } from 'vitest'
import { memoryTagIndex } from '../src/index.js'

tagIndexContractSuite('memory', { createIndex: () => memoryTagIndex() })

const T = 1_700_000_000_000

describe('memoryTagIndex bound', () => {
  it('keeps at most maxTags, forgetting the tags invalidated longest ago first', async () => {
    const index = memoryTagIndex({ maxTags: 3 })
    await index.invalidate(['a'], T + 1)
    await index.invalidate(['b'], T + 2)
    await index.invalidate(['c'], T + 3)
    expect(index.floor).toBe(0)
    await index.invalidate(['d'], T + 4)
    expect(index.size).toBe(3)
    expect(index.floor).toBe(T + 1)
    expect(await index.invalidatedAt(['a', 'b', 'c', 'd'])).toEqual([T + 1, T + 2, T + 3, T + 4])
  })

  it('counts a tag moved forward as recent again', async () => {
    const index = memoryTagIndex({ maxTags: 2 })
    await index.invalidate(['a'], T + 1)
    await index.invalidate(['b'], T + 2)
    await index.invalidate(['a'], T + 3) // `a` moved forward: `b` is now the one to forget
    await index.invalidate(['c'], T + 4)
    expect(index.floor).toBe(T + 2)
    expect(await index.invalidatedAt(['a', 'c'])).toEqual([T + 3, T + 4])
  })

  it('never lets a forgotten tag bring back the entries it invalidated', async () => {
    const index = memoryTagIndex({ maxTags: 2 })
    const entry = { createdAt: T + 5 }
    await index.invalidate(['old'], T + 10) // invalidates `entry`
    await index.invalidate(['x', 'y'], T + 20) // `old` is forgotten
    expect(index.size).toBe(2)
    expect(isInvalidatedByTags(entry, await index.invalidatedAt(['old']))).toBe(true)
  })

  it('reads the floor for unknown tags and for known tags older than it (a miss, never a stale hit)', async () => {
    const index = memoryTagIndex({ maxTags: 1 })
    await index.invalidate(['a'], T + 10)
    await index.invalidate(['b'], T + 5) // forgets `a`: floor T + 10, above b's own time
    expect(await index.invalidatedAt(['never', 'b', 'a'])).toEqual([T + 10, T + 10, T + 10])
    // Entries created after the floor are untouched by it.
    expect(isInvalidatedByTags({ createdAt: T + 11 }, await index.invalidatedAt(['never']))).toBe(false)
  })

  it('a forgotten tag invalidated again with an older time still reads at least the forgotten one', async () => {
    const index = memoryTagIndex({ maxTags: 1 })
    await index.invalidate(['a'], T + 10)
    await index.invalidate(['b'], T + 11) // forgets `a` at T + 10
    await index.invalidate(['a'], T + 1) // a slow clock: forgets `b` at T + 11
    expect(await index.invalidatedAt(['a'])).toEqual([T + 11])
  })

  it('rejects bad options and bad times with E_INVALID_OPTION', async () => {
    for (const maxTags of [0, -1, 1.5, Number.NaN]) {
      expect(() => memoryTagIndex({ maxTags })).toThrow(expect.objectContaining({ code: 'E_INVALID_OPTION' }))
    }
    const index = memoryTagIndex()
    for (const at of [Number.NaN, Number.POSITIVE_INFINITY, -1]) {
      await expect(index.invalidate(['t'], at)).rejects.toSatisfy((error) =>
        CacheError.hasCode(error, 'E_INVALID_OPTION'),
      )
    }
  })

  it('supports await using', async () => {
    const index = memoryTagIndex()
    {
      await using scoped = index
      await scoped.invalidate(['t'], T)
    }
    await expect(index.invalidatedAt(['t'])).rejects.toSatisfy((error) =>
      CacheError.hasCode(error, 'E_STORE_CLOSED'),
    )
  })
})
