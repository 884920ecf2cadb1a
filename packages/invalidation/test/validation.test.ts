import { CacheError, InvalidOptionError } from '@cachekit/core'
import { afterEach, describe, expect, it } from 'vitest'
import {
  type InvalidatableCache,
  type InvalidateOptions,
  Invalidates,
  type InvalidationTargets,
  invalidate,
  invalidates,
} from '../src/index.js'
import { caches, recording } from './helpers.js'

const open = caches()
afterEach(() => open.closeAll())

/** Values a caller without types (or with a cast) could pass. */
const badTargets: Array<[string, unknown]> = [
  ['undefined', undefined],
  ['null', null],
  ['a string', 'user:1'],
  ['an array', ['user:1']],
  ['keys as a string', { keys: 'user:1' }],
  ['a number key', { keys: [1] }],
  ['an empty key', { keys: [''] }],
  ['a null tag', { tags: [null] }],
  ['an empty tag', { tags: [''] }],
  ['a tag with NUL', { tags: ['a\u0000b'] }],
  ['an object pattern', { patterns: [{}] }],
  ['patterns as a set', { patterns: new Set(['*']) }],
  ['an unknown target (typo)', { tag: ['users'] }],
]

const badOptions: Array<[string, unknown]> = [
  ['an unknown strategy', { strategy: 'soon' }],
  ['a strategy in the wrong case', { strategy: 'Lazy' }],
  ['a string', 'lazy'],
  ['null', null],
]

function expectInvalidOption(error: unknown) {
  expect(error).toBeInstanceOf(InvalidOptionError)
  expect(CacheError.hasCode(error, 'E_INVALID_OPTION')).toBe(true)
  expect((error as Error).message).toMatch(/^\[cachekit\/invalidation\] /)
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail('expected a rejection'),
    (error: unknown) => error,
  )
}

function thrown(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  return expect.fail('expected a throw')
}

describe('invalidate refuses bad input with E_INVALID_OPTION, before calling anything', () => {
  it.each(badTargets)('targets: %s', async (_, targets) => {
    const { cache, calls } = recording(open.local())
    // Valid keys beside the bad part: still nothing is deleted.
    const withKeys =
      typeof targets === 'object' && targets !== null && !Array.isArray(targets) && !('keys' in targets)
        ? { keys: ['k'], ...targets }
        : targets
    expectInvalidOption(await rejection(invalidate(cache, withKeys as InvalidationTargets)))
    expect(calls).toEqual([])
  })

  it.each(badOptions)('options: %s', async (_, options) => {
    const { cache, calls } = recording(open.local())
    expectInvalidOption(await rejection(invalidate(cache, { keys: ['k'] }, options as InvalidateOptions)))
    expect(calls).toEqual([])
  })

  it.each([
    ['undefined', undefined],
    ['an object without the methods', { deleteMany: async () => 0 }],
  ])('cache: %s', async (_, cache) => {
    expectInvalidOption(await rejection(invalidate(cache as unknown as InvalidatableCache, { keys: ['k'] })))
  })
})

describe('invalidates checks its arguments when wrapping', () => {
  const mutation = async (id: string) => id

  it.each(badTargets.filter(([, targets]) => targets !== undefined))('static targets: %s', (_, targets) => {
    const cache = open.local()
    expectInvalidOption(thrown(() => invalidates(cache, targets as InvalidationTargets, mutation)))
  })

  it.each(badOptions)('options: %s', (_, options) => {
    const cache = open.local()
    expectInvalidOption(
      thrown(() => invalidates(cache, { keys: ['k'] }, mutation, options as InvalidateOptions)),
    )
  })

  it('the mutation and the cache', () => {
    const cache = open.local()
    expectInvalidOption(
      thrown(() => invalidates(cache, { keys: ['k'] }, 'save' as unknown as typeof mutation)),
    )
    expectInvalidOption(
      thrown(() => invalidates(undefined as unknown as InvalidatableCache, { keys: ['k'] }, mutation)),
    )
  })

  it('targets computed after the call, after the mutation ran', async () => {
    const cache = open.local()
    const done: string[] = []
    const save = invalidates(
      cache,
      (id) => ({ keys: id }) as unknown as InvalidationTargets,
      async (id: string) => {
        done.push(id)
        return id
      },
    )
    expectInvalidOption(await rejection(save('1')))
    expect(done).toEqual(['1'])
  })
})

describe('@Invalidates checks its arguments', () => {
  const cacheOf = (self: { cache: InvalidatableCache }) => self.cache

  it.each(badTargets.filter(([, targets]) => targets !== undefined))('static targets: %s', (_, targets) => {
    expectInvalidOption(thrown(() => Invalidates(cacheOf, targets as InvalidationTargets)))
  })

  it.each(badOptions)('options: %s', (_, options) => {
    expectInvalidOption(thrown(() => Invalidates(cacheOf, { keys: ['k'] }, options as InvalidateOptions)))
  })

  it('the cache getter', () => {
    expectInvalidOption(
      thrown(() =>
        Invalidates(open.local() as unknown as (self: object) => InvalidatableCache, { keys: ['k'] }),
      ),
    )
  })

  it('what it decorates', () => {
    const decorate = Invalidates(cacheOf, { keys: ['k'] }) as unknown as (
      target: unknown,
      context: unknown,
    ) => unknown
    const getter = { kind: 'getter', name: 'user', static: false, private: false }
    expectInvalidOption(thrown(() => decorate(() => undefined, getter)))
    // experimentalDecorators calls (prototype, name, descriptor):
    const legacy = thrown(() => decorate({}, 'save'))
    expectInvalidOption(legacy)
    expect((legacy as Error).message).toContain('experimentalDecorators')
  })
})
