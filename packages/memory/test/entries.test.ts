import { describe, expect, it } from 'vitest'
import { memoryStore } from '../src/index.js'
import { bytes, collect } from './support/helpers.js'

describe('entries', () => {
  it('lists live entries under a prefix, most recently used first', async () => {
    const store = memoryStore({ maxEntries: 10 })
    await store.setMany(['a:1', 'a:2', 'b:1'].map((key, i) => ({ key, value: bytes(i) })))
    await store.set('a:gone', bytes(9), 1)
    await new Promise((resolve) => setTimeout(resolve, 3))
    store.getSync('a:1')
    expect([...store.entries('a:')].map(([key]) => key)).toEqual(['a:1', 'a:2'])
    expect([...store.entries()].map(([key]) => key)).toEqual(['a:1', 'b:1', 'a:2'])
  })

  it('neither counts reads nor changes what is evicted next', async () => {
    const store = memoryStore({ maxEntries: 2 })
    await store.set('old', bytes(1))
    await store.set('new', bytes(2))
    const before = store.stats()
    expect([...store.entries()].map(([key]) => key)).toEqual(['new', 'old'])
    expect(store.stats()).toMatchObject({ hits: before.hits, misses: before.misses })
    await store.set('third', bytes(3))
    expect((await collect(store.scan('*'))).sort()).toEqual(['new', 'third'])
  })

  it('throws once closed', async () => {
    const store = memoryStore()
    await store.close()
    expect(() => store.entries()).toThrow(expect.objectContaining({ code: 'E_STORE_CLOSED' }))
  })
})
