import { InvalidOptionError } from '@cachekit/core'
import { afterEach, expect, it } from 'vitest'
import { type InvalidatableCache, Invalidates, invalidates } from '../src/index.js'
import { caches } from './helpers.js'

const open = caches()
afterEach(() => open.closeAll())

// Compile-time checks: `pnpm typecheck` fails when an `@ts-expect-error` below is not an error.

interface User {
  id: string
  name: string
}

class Service {
  constructor(readonly cache: InvalidatableCache) {}

  // A targets function may take fewer arguments than the method.
  @Invalidates(
    (self: Service) => self.cache,
    (user: User) => ({ keys: [`user:${user.id}`] }),
  )
  async save(id: string, name: string): Promise<User> {
    return { id, name }
  }

  // @ts-expect-error the targets function wants a number where the method takes a string
  @Invalidates(
    (self: Service) => self.cache,
    (_: User, id: number) => ({ keys: [`user:${id}`] }),
  )
  async wrongArgument(id: string): Promise<User> {
    return { id, name: '' }
  }

  // @ts-expect-error the targets function wants a string result; the method resolves with a User
  @Invalidates(
    (self: Service) => self.cache,
    (id: string) => ({ keys: [id] }),
  )
  async wrongResult(id: string): Promise<User> {
    return { id, name: '' }
  }

  // @ts-expect-error the decorator is for async methods
  @Invalidates((self: Service) => self.cache, { keys: ['k'] })
  sync(): number {
    return 1
  }
}

class Unrelated {
  cache!: InvalidatableCache
}

class Other {
  // @ts-expect-error cacheOf takes another class
  @Invalidates((self: Unrelated) => self.cache, { keys: ['k'] })
  async m(): Promise<void> {}
}

it('types: invalidates infers the targets function from the mutation', async () => {
  const cache = open.local()
  const save = invalidates(
    cache,
    (user, id, name) => ({ keys: [`user:${user.id}`, id, name] }),
    async (id: string, name: string): Promise<User> => ({ id, name }),
  )
  const user: User = await save('1', 'Ada')
  expect(user).toEqual({ id: '1', name: 'Ada' })
  invalidates(
    cache,
    // @ts-expect-error the targets function wants a number where the mutation takes a string
    (_, id: number) => ({ keys: [String(id)] }),
    async (id: string) => id,
  )
  // @ts-expect-error wrong arity at the call
  await save('1').catch(() => undefined)
  // A typo in the targets: refused by the compiler, and at run time.
  expect(() =>
    // @ts-expect-error 'key' is not a target
    Invalidates((self: Service) => self.cache, { key: ['k'] }),
  ).toThrow(InvalidOptionError)
  expect(new Service(cache)).toBeInstanceOf(Service)
  expect(Other).toBeTypeOf('function')
})
