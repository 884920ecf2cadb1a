import { storeContractSuite } from '@cachekit/core/testing'
import { memoryStore } from '../src/index.js'

storeContractSuite('memory', { createStore: () => memoryStore({ maxEntries: 100_000 }) })

// The same contract with both bounds on, as the store runs when it is the fallback tier.
storeContractSuite('memory (byte bound)', {
  createStore: () => memoryStore({ maxEntries: 100_000, maxBytes: 64 * 1024 * 1024 }),
})
