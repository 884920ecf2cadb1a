import type { Cache } from '@cachekit/core'
import { afterEach, describe, expect, it } from 'vitest'
import { Cached, CacheInvalidate, CacheKeyError, cacheContext, type HashedKeyEntry } from '../src/index.js'
import { localCache } from './support/local.js'
import { freshPrefix, Instances, topologies } from './support/redis.js'

interface Product {
  id: string
  name: string
}

/** A catalogue service whose database calls are counted. */
function catalogue(cache: Cache) {
  const calls: string[] = []
  const rows = new Map<string, Product>([
    ['1', { id: '1', name: 'Lamp' }],
    ['2', { id: '2', name: 'Desk' }],
  ])

  class Catalogue {
    readonly cache = cache

    @Cached({
      cache: (self: Catalogue) => self.cache,
      key: (id: string) => `product:${id}`,
      tags: ['products'],
    })
    async find(id: string): Promise<Product | null> {
      const tenant = cacheContext.get()?.tenantId ?? '-'
      calls.push(`find:${tenant}:${id}`)
      return rows.get(id) ?? null
    }

    @Cached({
      cache,
      key: 'products.search',
      when: { args: (query: { q: string; live?: boolean }) => !query.live },
    })
    async search(query: { q: string; live?: boolean; page?: number }): Promise<string[]> {
      calls.push(`search:${query.q}`)
      return [...rows.values()].filter((row) => row.name.includes(query.q)).map((row) => row.id)
    }

    @Cached({
      cache,
      key: (id: string) => `maybe:${id}`,
      when: { result: (found: Product | null) => found !== null },
    })
    async maybe(id: string): Promise<Product | null> {
      calls.push(`maybe:${id}`)
      return rows.get(id) ?? null
    }

    @Cached({ cache, scope: 'user', key: 'permissions' })
    async permissions(): Promise<string[]> {
      const { userId } = cacheContext.get() ?? {}
      calls.push(`permissions:${userId}`)
      return [`read:${userId}`]
    }

    @CacheInvalidate({
      cache: (self: Catalogue) => self.cache,
      keys: (_: Product, id: string) => [`product:${id}`],
    })
    async rename(id: string, name: string): Promise<Product> {
      calls.push(`rename:${id}`)
      if (name === '') throw new Error('a name is required')
      const row = { id, name }
      rows.set(id, row)
      return row
    }

    @CacheInvalidate({ cache, patterns: ['product:*'] })
    async reindex(): Promise<void> {
      calls.push('reindex')
    }

    @CacheInvalidate({ cache, tags: ['products'] })
    async importAll(): Promise<void> {
      calls.push('importAll')
    }
  }
  return { service: new Catalogue(), calls, rows }
}

const inTenant = <R>(tenantId: string, fn: () => Promise<R>) => cacheContext.run({ tenantId }, fn)

describe('@Cached', () => {
  it('caches a method per tenant: two tenants get their own entries, each served from its own', async () => {
    const cache = localCache()
    const { service, calls } = catalogue(cache)
    expect(await inTenant('acme', () => service.find('1'))).toEqual({ id: '1', name: 'Lamp' })
    expect(await inTenant('globex', () => service.find('1'))).toEqual({ id: '1', name: 'Lamp' })
    expect(await inTenant('acme', () => service.find('1'))).toEqual({ id: '1', name: 'Lamp' })
    expect(calls).toEqual(['find:acme:1', 'find:globex:1'])
    expect(
      cache
        .l1Entries()
        .map((item) => item.storeKey)
        .sort(),
    ).toEqual(['local:tenant:acme::product:1', 'local:tenant:globex::product:1'])
    // Outside any tenant, the shared entry: not one of theirs.
    await service.find('1')
    expect(calls).toHaveLength(3)
  })

  it('shares one method call between concurrent callers of one key', async () => {
    const { service, calls } = catalogue(localCache())
    await Promise.all([service.find('2'), service.find('2'), service.find('2')])
    expect(calls).toEqual(['find:-:2'])
  })

  it('skips the cache as `when` says: by arguments (no read, no write) and by result (never caches null)', async () => {
    const cache = localCache()
    const { service, calls } = catalogue(cache)
    await service.search({ q: 'L', live: true })
    await service.search({ q: 'L', live: true })
    expect(cache.stats()).toMatchObject({ hits: 0, misses: 0, sets: 0 })
    await service.search({ page: undefined, q: 'L' })
    await service.search({ q: 'L' })
    expect(calls).toEqual(['search:L', 'search:L', 'search:L'])

    expect(await service.maybe('404')).toBeNull()
    expect(await service.maybe('404')).toBeNull()
    expect(await service.maybe('1')).toEqual({ id: '1', name: 'Lamp' })
    expect(await service.maybe('1')).toEqual({ id: '1', name: 'Lamp' })
    expect(calls.filter((call) => call.startsWith('maybe'))).toEqual(['maybe:404', 'maybe:404', 'maybe:1'])
  })

  it("scope 'user' keeps one entry per user, and refuses a call without a user", async () => {
    const { service, calls } = catalogue(localCache())
    const as = (userId: string) => cacheContext.run({ tenantId: 'acme', userId }, () => service.permissions())
    expect(await as('ada')).toEqual(['read:ada'])
    expect(await as('bob')).toEqual(['read:bob'])
    expect(await as('ada')).toEqual(['read:ada'])
    expect(calls).toEqual(['permissions:ada', 'permissions:bob'])
    await expect(inTenant('acme', () => service.permissions())).rejects.toThrow(/without a userId/)
  })

  it('builds default keys from the class, the method and the arguments, the same whatever their order', async () => {
    const cache = localCache()
    let calls = 0
    class Reports {
      @Cached({ cache })
      async build(
        _filter: { from: Date; tags: Set<string>; owner?: string | null },
        limit: bigint,
      ): Promise<number> {
        calls++
        return Number(limit)
      }
    }
    const reports = new Reports()
    const from = new Date('2024-01-01T00:00:00Z')
    await reports.build({ from, tags: new Set(['b', 'a']) }, 10n)
    await reports.build({ tags: new Set(['a', 'b']), from: new Date(from) }, 10n)
    expect(calls).toBe(1)
    await reports.build({ from, tags: new Set(['a', 'b']), owner: null }, 10n)
    expect(calls).toBe(2)
    expect(cache.l1Entries().map((item) => item.storeKey)).toContain(
      'local::Reports.build:[{"from":Date(2024-01-01T00:00:00.000Z),"tags":Set["a","b"]},10n]',
    )
  })

  it('rejects arguments that cannot be part of a key, without calling the method', async () => {
    const cache = localCache()
    let calls = 0
    class Jobs {
      @Cached({ cache, key: 'jobs.run' })
      async run(_input: unknown): Promise<number> {
        return ++calls
      }
    }
    const jobs = new Jobs()
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    for (const input of [() => 1, Symbol('s'), cyclic, { deep: [{ fn: () => 1 }] }]) {
      const error = await jobs.run(input).catch((caught: unknown) => caught)
      expect(error).toBeInstanceOf(CacheKeyError)
      expect(error).toMatchObject({ code: 'E_INVALID_OPTION' })
    }
    expect((await jobs.run({ deep: [{ fn: 1 }] }).catch((e: unknown) => e)) as number).toBe(1)
    expect(calls).toBe(1)
  })

  it('hashes long keys and keeps the original next to the value', async () => {
    const cache = localCache()
    let calls = 0
    class Search {
      @Cached({
        cache,
        key: (q: string) => `search:${q}`,
        ttl: (hits: string[]) => (hits.length > 0 ? '1m' : '5s'),
      })
      async query(q: string): Promise<string[]> {
        calls++
        return [q.slice(0, 3)]
      }

      @CacheInvalidate({ cache, keys: (_: unknown, q: string) => [`search:${q}`] })
      async forget(_q: string): Promise<void> {}
    }
    const search = new Search()
    const long = 'x'.repeat(400)
    expect(await search.query(long)).toEqual(['xxx'])
    expect(await search.query(long)).toEqual(['xxx'])
    expect(calls).toBe(1)
    const [item] = cache.l1Entries()
    expect(item!.storeKey).toMatch(/^local::search:x{25}#[A-Za-z0-9_-]{43}$/)
    expect(item!.entry.value).toEqual({
      cachekitKey: `search:${long}`,
      value: ['xxx'],
    } satisfies HashedKeyEntry)
    expect(item!.entry.expiresAt - item!.entry.createdAt).toBe(60_000)
    await search.forget(long)
    expect(cache.l1Entries()).toEqual([])
  })

  it('works on static and #private methods, and is refused on anything else', async () => {
    const cache = localCache()
    let calls = 0
    class Config {
      @Cached({ cache, key: 'config.load' })
      static async load(): Promise<string> {
        calls++
        return 'loaded'
      }

      @Cached({ cache, key: 'config.secret' })
      async #secret(): Promise<string> {
        calls++
        return 'hidden'
      }

      secret(): Promise<string> {
        return this.#secret()
      }
    }
    expect(await Config.load()).toBe('loaded')
    expect(await Config.load()).toBe('loaded')
    const config = new Config()
    expect(await config.secret()).toBe('hidden')
    expect(await config.secret()).toBe('hidden')
    expect(calls).toBe(2)
    const decorate = Cached({ cache }) as unknown as (value: unknown, context: unknown) => unknown
    expect(() => decorate(undefined, { kind: 'field', name: 'x' })).toThrow(/decorates methods, not a field/)
    expect(() => decorate(() => 1, 'legacy')).toThrow(/experimentalDecorators/)
  })

  it('refuses bad options where they are given', () => {
    const cache = localCache()
    expect(() => Cached({} as never)).toThrow(/needs `cache`/)
    expect(() => Cached({ cache, key: '' })).toThrow(/key must be/)
    expect(() => Cached({ cache, scope: 'team' as never })).toThrow(/scope must be/)
    expect(() => Cached({ cache, when: { result: true } as never })).toThrow(/when is/)
    expect(() => Cached({ cache, maxKeyLength: 10 })).toThrow(/maxKeyLength/)
    expect(() => CacheInvalidate({ cache })).toThrow(/needs keys, tags or patterns/)
    expect(() => CacheInvalidate({ cache, tags: 'products' as never })).toThrow(/tags must be/)
    expect(() => cacheContext.run({ tenantId: '' }, () => 1)).toThrow(/non-empty strings/)
  })

  it('reads the tenant from a context function instead of AsyncLocalStorage', async () => {
    const cache = localCache()
    class Repo {
      constructor(readonly tenantId: string) {}

      @Cached({ cache, key: 'repo.count', context: (self: Repo) => ({ tenantId: self.tenantId }) })
      async count(): Promise<string> {
        return this.tenantId
      }
    }
    expect(await new Repo('a').count()).toBe('a')
    expect(await new Repo('b').count()).toBe('b')
    expect(await cache.namespace('tenant').namespace('a').get('repo.count:[]')).toBe('a')
  })
})

describe('@CacheInvalidate', () => {
  it('drops what it names after the method succeeded, in the tenant of the call only', async () => {
    const cache = localCache()
    const { service, calls } = catalogue(cache)
    await inTenant('acme', () => service.find('1'))
    await inTenant('globex', () => service.find('1'))
    let presentDuringRename: boolean | undefined
    const { rename } = service
    const spied = async (id: string, name: string) => {
      presentDuringRename = await cache.namespace('tenant').namespace('acme').has('product:1')
      return rename.call(service, id, name)
    }
    await inTenant('acme', () => spied('1', 'Lamp II'))
    expect(presentDuringRename).toBe(true)
    expect(await inTenant('acme', () => service.find('1'))).toEqual({ id: '1', name: 'Lamp II' })
    // globex keeps its entry: another tenant's write does not reach it.
    expect(await inTenant('globex', () => service.find('1'))).toEqual({ id: '1', name: 'Lamp' })
    expect(calls).toEqual(['find:acme:1', 'find:globex:1', 'rename:1', 'find:acme:1'])
  })

  it('drops nothing when the method throws, and the caller gets its error', async () => {
    const cache = localCache()
    const { service } = catalogue(cache)
    await service.find('1')
    await expect(service.rename('1', '')).rejects.toThrow('a name is required')
    expect(await cache.has('product:1')).toBe(true)
  })

  it('invalidates tags, which reach every entry of the tenant carrying them', async () => {
    const cache = localCache()
    const { service, calls } = catalogue(cache)
    await inTenant('acme', () => service.find('1'))
    await inTenant('acme', () => service.find('2'))
    await inTenant('acme', () => service.importAll())
    await inTenant('acme', () => service.find('1'))
    expect(calls.filter((call) => call.startsWith('find'))).toEqual([
      'find:acme:1',
      'find:acme:2',
      'find:acme:1',
    ])
  })
})

describe.each(topologies)('tenants on %s Redis', (topology) => {
  const instances = new Instances(topology)
  afterEach(() => instances.close())

  it('a tenant id with glob characters cannot widen a pattern delete into other tenants', async () => {
    const cache = instances.start(freshPrefix('tenants'))
    const { service, calls } = catalogue(cache)
    for (const tenant of ['acme', '*', 'a*', '[a-z]*', 'acme:x', '{slot}'])
      await inTenant(tenant, () => service.find('1'))
    await inTenant('*', () => service.reindex())
    await inTenant('a*', () => service.reindex())
    await inTenant('[a-z]*', () => service.reindex())
    calls.length = 0
    for (const tenant of ['acme', 'acme:x', '{slot}', '*']) await inTenant(tenant, () => service.find('1'))
    expect(calls).toEqual(['find:*:1'])
  })
})
