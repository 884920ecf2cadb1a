import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { KeySpace } from '../src/cache/key_space.js'
import { type CacheEntry, createCache, globToRegExp } from '../src/index.js'
import { jsonTestCodec } from './support/json_codec.js'
import { MapStore } from './support/map_store.js'

// Every character that has meant something somewhere: our separator and escape, globs, hash tags.
const tricky = fc.constantFrom(':', '*', '?', '[', ']', '\\', '{', '}', '%', 'a', 'b', '3', 'A', '\u0000')
const name = fc.string({ unit: tricky, minLength: 1, maxLength: 6 })
const key = fc.string({ unit: tricky, maxLength: 8 })
const path = fc.array(name, { maxLength: 3 })
const prefix = fc.constantFrom('app', '{app}', 'a:b', '')

function spaceOf(prefixName: string, names: readonly string[]): KeySpace {
  return names.reduce((space, next) => space.child(next), KeySpace.forPrefix(prefixName))
}

const sameList = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((item, i) => item === b[i])
const startsWithList = (list: readonly string[], start: readonly string[]) =>
  start.length <= list.length && start.every((item, i) => item === list[i])

describe('namespaces', () => {
  it('never give two (namespace, key) pairs the same store key', () => {
    fc.assert(
      fc.property(prefix, path, key, path, key, (p, pathA, keyA, pathB, keyB) => {
        const a = spaceOf(p, pathA).keyOf(keyA)
        const b = spaceOf(p, pathB).keyOf(keyB)
        if (a === b) expect(sameList(pathA, pathB) && keyA === keyB).toBe(true)
      }),
      { numRuns: 20_000 },
    )
  })

  it('clear a namespace exactly: its keys and its nested namespaces, never a parent or sibling', () => {
    fc.assert(
      fc.property(prefix, path, path, key, (p, cleared, owner, k) => {
        const covered = spaceOf(p, owner).keyOf(k).startsWith(spaceOf(p, cleared).path)
        expect(covered).toBe(startsWithList(owner, cleared))
      }),
      { numRuns: 20_000 },
    )
  })

  it('match a pattern only against their own keys', () => {
    fc.assert(
      fc.property(prefix, path, path, key, (p, matched, owner, k) => {
        const pattern = globToRegExp(spaceOf(p, matched).patternOf('*'))
        expect(pattern.test(spaceOf(p, owner).keyOf(k))).toBe(sameList(matched, owner))
      }),
      { numRuns: 20_000 },
    )
  })

  it("keys() lists a space's own keys, from L2 or from L1 alone, and a user glob never widens it", async () => {
    for (const tiers of ['l1+l2', 'l1 only'] as const) {
      const l1 = new MapStore<CacheEntry>({ name: 'l1' })
      const l2 = new MapStore<Uint8Array>({ name: 'l2', kind: 'remote' })
      const cache = createCache(
        tiers === 'l1+l2' ? { prefix: 'app', l1, l2, codec: jsonTestCodec() } : { prefix: 'app', l1 },
      )
      await cache.set('user:1', 1)
      await cache.set('user:2', 2)
      await cache.set('order:1', 3)
      await cache.namespace('t*').set('user:3', 4)
      await cache.namespace('t*').namespace('x').set('user:4', 5)
      const keysOf = async (view: typeof cache, pattern?: string) => {
        const keys: string[] = []
        for await (const key of view.keys(pattern)) keys.push(key)
        return keys.sort()
      }
      expect(await keysOf(cache), tiers).toEqual(['order:1', 'user:1', 'user:2'])
      expect(await keysOf(cache, 'user:*'), tiers).toEqual(['user:1', 'user:2'])
      // The namespace's name is escaped: its `*` matches itself only, and nested spaces stay out.
      expect(await keysOf(cache.namespace('t*')), tiers).toEqual(['user:3'])
      expect(await keysOf(cache.namespace('t')), tiers).toEqual([])
      await cache.close()
    }
  })

  it('keep a nested namespace, a key with separators and a root key apart in one cache', async () => {
    const l1 = new MapStore<CacheEntry>({ name: 'l1' })
    const l2 = new MapStore<Uint8Array>({ name: 'l2', kind: 'remote' })
    const cache = createCache({ prefix: 'app', l1, l2, codec: jsonTestCodec() })
    await cache.namespace('a').namespace('b').set('k', 'nested')
    await cache.namespace('a').set('b:k', 'key with a colon')
    await cache.set('a:b:k', 'root')
    await cache.namespace('a').set('b::k', 'key with two colons')
    expect(await cache.namespace('a').namespace('b').get('k')).toBe('nested')
    expect(await cache.namespace('a').get('b:k')).toBe('key with a colon')
    expect(await cache.get('a:b:k')).toBe('root')
    expect(await cache.namespace('a').get('b::k')).toBe('key with two colons')
    expect(new Set(l2.keys()).size).toBe(4)

    expect(await cache.namespace('a').deleteMatching('*')).toBe(2)
    expect(await cache.namespace('a').namespace('b').get('k')).toBe('nested')
    await cache.namespace('a').clear()
    expect(await cache.namespace('a').namespace('b').get('k')).toBeUndefined()
    expect(await cache.get('a:b:k')).toBe('root')
    await cache.close()
  })
})
