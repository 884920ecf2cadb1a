import type { Cache } from '@cachekit/core'
import { describe, expect, it } from 'vitest'
import { Cached, CacheInvalidate } from '../src/index.js'
import { localCache } from './support/local.js'

// Compile-time checks, run by `pnpm typecheck`: each @ts-expect-error must be an error.
function declare(cache: Cache) {
  class Service {
    readonly cache = cache

    @Cached({ cache: (self: Service) => self.cache, key: (id: string) => `s:${id}` })
    async find(id: string): Promise<string> {
      return id
    }

    // @ts-expect-error a synchronous method cannot become a cached (async) one
    @Cached({ cache, key: 'sync' })
    sync(): string {
      return 'x'
    }

    @CacheInvalidate({ cache, tags: ['t'] })
    async write(): Promise<void> {}
  }

  class Other {
    // @ts-expect-error `cache` picks the cache from another class
    @Cached({ cache: (self: Service) => self.cache })
    async find(): Promise<number> {
      return 1
    }
  }
  return [Service, Other]
}

describe('decorator types', () => {
  it('compile as declared (see the @ts-expect-error lines)', () => {
    expect(declare(localCache())).toHaveLength(2)
  })
})
