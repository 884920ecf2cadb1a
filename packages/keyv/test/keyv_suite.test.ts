import keyvTestSuite, { keyvIteratorTests } from '@keyv/test-suite'
import Keyv from 'keyv'
import * as test from 'vitest'
import { keyvStore } from '../src/index.js'
import { cacheOn, type Topology } from './helpers.js'

// Keyv's own test suite (API, values, namespaces; then the iterator), as @keyv/redis runs it, against
// keyvStore on a real Redis. One cache per topology, shared by the suite's stores as @keyv/redis
// shares one server; each suite step clears through Keyv first.
for (const topology of ['standalone', 'cluster'] as Topology[]) {
  test.describe(`@keyv/test-suite on ${topology}`, () => {
    const cache = cacheOn(topology)
    test.afterAll(() => cache.close())
    const store = () => keyvStore(cache, { closeCache: false })
    keyvTestSuite(test, Keyv, store)
    keyvIteratorTests(test, Keyv, store)
  })
}
